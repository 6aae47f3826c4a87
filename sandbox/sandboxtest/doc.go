// Package sandboxtest is the conformance suite every sandbox driver passes,
// and the stand-in runtime it drives.
//
// The stand-in is a re-exec entry point (StandInEntry) that serves a few
// HTTP routes on the unix socket named by GUST_RUNTIME_SOCKET: it tests the
// driver, not the runtime. A driver test imports this package (which
// registers the entry points), calls reexec.Init first in TestMain, builds
// its driver with the stand-in as the proxy entry point, and calls Run:
//
//	func TestMain(m *testing.M) {
//		if reexec.Init() {
//			return
//		}
//		os.Exit(m.Run())
//	}
//
//	func TestConformance(t *testing.T) {
//		dir := t.TempDir()
//		d := process.New(process.Config{RunDir: dir, ProxyEntry: sandboxtest.StandInEntry})
//		sandboxtest.Run(t, d, sandboxtest.Options{RunDir: dir})
//	}
//
// Run starts child processes and checks that none is left over, so it must
// not run in parallel with other tests of the same binary that start some.
package sandboxtest
