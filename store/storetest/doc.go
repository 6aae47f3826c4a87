// Package storetest is the conformance suite every store.Store must pass.
// An implementation's test calls Run with a function that opens a fresh,
// empty store configured with activation retention Retention:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := embedded.Open(filepath.Join(t.TempDir(), "gust.db"),
//				embedded.Options{Retention: storetest.Retention})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Subtests run in parallel, each on its own store; the whole suite takes
// about a second, most of it waiting for records and keys to expire.
package storetest
