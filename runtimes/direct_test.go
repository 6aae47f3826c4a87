package runtimes

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gust-faas/gust/whisk"
)

// handedOver is a proxy whose launcher was handed over after /init.
func handedOver(t *testing.T, kind, scenario string) (*proxyProc, *Direct) {
	t.Helper()
	p := started(t, kind, scenario, "")
	d, err := p.client.Handover(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatalf("Handover: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return p, d
}

// TestHandoverRuns: after a handover, Direct gets the results Client.Run
// got from the proxy, the proxy refuses /run, and a second handover is
// refused.
func TestHandoverRuns(t *testing.T) {
	for _, kind := range []string{whisk.KindNode, whisk.KindPython, whisk.KindGo} {
		t.Run(kind, func(t *testing.T) {
			p, d := handedOver(t, kind, "hello")
			ctx := ctxT(t, 10*time.Second)
			// A value with line breaks, which must not split the line, and
			// a tab, which must not split the run early.
			for i, name := range []string{"Ada", "Grace"} {
				res, err := d.Run(ctx, runReq("{\"name\":\r\n\t\""+name+"\"}"))
				if err != nil {
					t.Fatal(err)
				}
				if !res.Success() || res.StatusCode != http.StatusOK {
					t.Fatalf("run %d: status %d (%d) %s\nstderr:\n%s", i, res.StatusCode, res.Status, res.Body, p.stderr.String())
				}
				jsonEqual(t, res.Body, `{"payload":"Hello, `+name+`","activation":"0123456789abcdef0123456789abcdef","initParam":"hi","leak":""}`)
			}
			// The action's output reached the sandbox's streams; of the
			// sentinels only /init's is the proxy's (the caller prints the
			// runs' ones).
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(2 * time.Millisecond) {
				stdout := p.stdout.String()
				if strings.Count(stdout, "log line\n") == 2 && strings.Count(stdout, whisk.LogSentinel) == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("stdout = %q, want the /init sentinel and the two runs' log lines", stdout)
				}
			}
			res, err := p.client.Run(ctx, runReq(`{}`))
			if err != nil || !res.DeveloperError() || !strings.Contains(string(res.Body), "handed over") {
				t.Errorf("/run after the handover = %+v %s, %v; want a developer error saying it was handed over", res, res.Body, err)
			}
			if _, err := p.client.Handover(ctx); !errors.Is(err, ErrNoHandover) {
				t.Errorf("second Handover: %v, want ErrNoHandover", err)
			}
		})
	}
}

// TestHandoverOutcomes: application and developer errors are classified as
// the proxy classifies them; a launcher that dies is a transport error.
func TestHandoverOutcomes(t *testing.T) {
	tests := []struct {
		scenario   string
		wantStatus int    // whisk status; 0: an error, no result
		wantError  string // substring of the result's "error"
	}{
		{"apperror", whisk.StatusApplicationError, "boom"},
		{"exception", whisk.StatusApplicationError, "bad"},
		{"nondict", whisk.StatusDeveloperError, msgNotDictionary},
		{"crash", 0, ""},
	}
	for _, tt := range tests {
		for _, kind := range []string{whisk.KindNode, whisk.KindPython, whisk.KindGo} {
			t.Run(tt.scenario+"/"+kind, func(t *testing.T) {
				_, d := handedOver(t, kind, tt.scenario)
				ctx := ctxT(t, 10*time.Second)
				res, err := d.Run(ctx, runReq(`{}`))
				if tt.wantStatus == 0 {
					if err == nil || ctx.Err() != nil {
						t.Fatalf("Run = %+v %s, %v; want a transport error", res, res.Body, err)
					}
					if _, err := d.Run(ctx, runReq(`{}`)); err == nil {
						t.Error("a broken Direct ran again")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				var body struct{ Error string }
				if res.Status != tt.wantStatus || json.Unmarshal(res.Body, &body) != nil || !strings.Contains(body.Error, tt.wantError) {
					t.Fatalf("Run = status %d %s, want %d with an error containing %q", res.Status, res.Body, tt.wantStatus, tt.wantError)
				}
			})
		}
	}
}

// TestHandoverRefused: runtimes that are not one launcher taking one run at
// a time keep their proxy.
func TestHandoverRefused(t *testing.T) {
	t.Run("uninitialized", func(t *testing.T) {
		needInterpreter(t, whisk.KindPython)
		p := startProxy(t, whisk.KindPython)
		if _, err := p.client.Handover(ctxT(t, 5*time.Second)); !errors.Is(err, ErrNoHandover) {
			t.Errorf("Handover = %v, want ErrNoHandover", err)
		}
	})
	t.Run("blackbox", func(t *testing.T) {
		p := started(t, whisk.KindBlackbox, "hello", "")
		ctx := ctxT(t, 5*time.Second)
		if _, err := p.client.Handover(ctx); !errors.Is(err, ErrNoHandover) {
			t.Errorf("Handover = %v, want ErrNoHandover", err)
		}
		if res, err := p.client.Run(ctx, runReq(`{"name":"Ada"}`)); err != nil || !res.Success() {
			t.Errorf("/run after a refused handover = %s, %v", res.Body, err)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		needInterpreter(t, whisk.KindNode)
		p := startProxy(t, whisk.KindNode)
		ctx := ctxT(t, 10*time.Second)
		v := InitValue{Code: `function main(p) { return p; }`, Env: map[string]string{"__OW_ALLOW_CONCURRENT": "true"}}
		if err := p.client.Init(ctx, &InitRequest{Value: v}); err != nil {
			t.Fatal(err)
		}
		if _, err := p.client.Handover(ctx); !errors.Is(err, ErrNoHandover) {
			t.Errorf("Handover = %v, want ErrNoHandover", err)
		}
	})
}

// TestDirectDeadline: a run past its deadline or cancelled returns ctx's
// error promptly and breaks the Direct.
func TestDirectDeadline(t *testing.T) {
	needInterpreter(t, whisk.KindPython)
	for _, cancelled := range []bool{false, true} {
		p := startProxy(t, whisk.KindPython)
		code := "import time\ndef main(args):\n    time.sleep(30)\n    return {}\n"
		if err := p.client.Init(ctxT(t, 10*time.Second), &InitRequest{Value: InitValue{Code: code}}); err != nil {
			t.Fatal(err)
		}
		d, err := p.client.Handover(ctxT(t, 5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		want := context.DeadlineExceeded
		if cancelled {
			ctx, cancel = context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			want = context.Canceled
		}
		start := time.Now()
		_, err = d.Run(ctx, runReq(`{}`))
		cancel()
		if !errors.Is(err, want) {
			t.Fatalf("Run error = %v, want %v", err, want)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("Run returned after %v", el)
		}
		if _, err := d.Run(context.Background(), runReq(`{}`)); err == nil {
			t.Error("a Direct ran again after a timeout")
		}
		d.Close()
	}
}

// TestHandoverBrokenAnswers: a peer that hangs up, resets or answers
// garbage gives an error, not a panic, and leaks no descriptor.
func TestHandoverBrokenAnswers(t *testing.T) {
	for name, answer := range map[string]string{
		"reset":        "-", // closed with the request unread
		"hang up":      "",
		"garbage":      "nonsense\r\n\r\n",
		"partial head": "HTTP/1.1 20",
		"200 no fds":   "HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{\"trusted\":true}",
	} {
		t.Run(name, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "s")
			ln, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				if answer != "-" {
					c.Read(make([]byte, 512))
					c.Write([]byte(answer))
				}
				c.Close()
			}()
			c := NewClient(func(ctx context.Context) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", sock)
			})
			defer c.Close()
			if d, err := c.Handover(ctxT(t, 5*time.Second)); err == nil {
				d.Close()
				t.Fatal("Handover succeeded")
			}
		})
	}
}

// TestHandoverLeavesPipes: once the handover is answered, the proxy holds
// neither of the launcher's pipes. Its netpoller watched them, so each
// direct run woke the idle proxy as well.
func TestHandoverLeavesPipes(t *testing.T) {
	p, d := handedOver(t, whisk.KindNode, "hello")
	var inodes []string
	for _, f := range []*os.File{d.in, d.out} {
		st, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		inodes = append(inodes, fmt.Sprintf("pipe:[%d]", st.Sys().(*syscall.Stat_t).Ino))
	}
	dir := fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var held []string
		for _, e := range entries {
			if target, _ := os.Readlink(filepath.Join(dir, e.Name())); slices.Contains(inodes, target) {
				held = append(held, e.Name()+" -> "+target)
			}
		}
		if len(held) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy still holds the handed-over pipes: %v", held)
		}
	}
	res, err := d.Run(ctxT(t, 10*time.Second), runReq(`{"name":"Ada"}`))
	if err != nil || !res.Success() {
		t.Fatalf("direct run after the proxy let go: %+v, %v", res, err)
	}
}

// goroutineLauncher is a launcher played by a goroutine on two pipes: it answers
// each run line with answer(n, line) (n counts from 1), written as one line.
func goroutineLauncher(t *testing.T, answer func(n int, line string) string) *Direct {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	d, err := newDirect(inW, outR, true, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	go func() {
		defer outW.Close()
		defer inR.Close()
		rd := bufio.NewReader(inR)
		for n := 1; ; n++ {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			if a := answer(n, strings.TrimSuffix(line, "\n")); a != "" {
				if _, err := outW.WriteString(a + "\n"); err != nil {
					return
				}
			}
		}
	}()
	return d
}

// TestDirectPipes: Direct's reads on the launcher's fd 3 start waiting
// before the run is written, so a launcher that answers at once is never
// missed; a line the launcher wrote unasked does not stop the next run from
// being sent; a launcher that closes fd 3 gives an error.
func TestDirectPipes(t *testing.T) {
	t.Run("instant answers", func(t *testing.T) {
		d := goroutineLauncher(t, func(n int, line string) string {
			_, value, _ := strings.Cut(line, "\t")
			return fmt.Sprintf(`{"n":%d,"value":%s}`, n, value)
		})
		for i := 1; i <= 2000; i++ {
			res, err := d.Run(ctxT(t, 5*time.Second), runReq(fmt.Sprintf(`{"i":%d}`, i)))
			if err != nil {
				t.Fatalf("run %d: %v", i, err)
			}
			if want := fmt.Sprintf(`{"n":%d,"value":{"i":%d}}`, i, i); string(res.Body) != want {
				t.Fatalf("run %d: result %s, want %s", i, res.Body, want)
			}
		}
	})
	t.Run("unasked line", func(t *testing.T) {
		var got atomic.Int32 // run lines the launcher read
		d := goroutineLauncher(t, func(n int, line string) string {
			got.Store(int32(n))
			if n == 1 {
				return "{\"n\":1}\n{\"extra\":true}"
			}
			return fmt.Sprintf(`{"n":%d}`, n)
		})
		for i, want := range []string{`{"n":1}`, `{"extra":true}`, `{"n":2}`} {
			res, err := d.Run(ctxT(t, 5*time.Second), runReq(`{}`))
			if err != nil {
				t.Fatalf("run %d: %v", i+1, err)
			}
			if string(res.Body) != want {
				t.Fatalf("run %d: result %s, want %s", i+1, res.Body, want)
			}
		}
		for end := time.Now().Add(5 * time.Second); got.Load() < 3 && time.Now().Before(end); {
			time.Sleep(time.Millisecond)
		}
		if n := got.Load(); n != 3 {
			t.Fatalf("the launcher read %d runs of 3", n)
		}
	})
	t.Run("fd 3 closed", func(t *testing.T) {
		d := goroutineLauncher(t, func(n int, line string) string { return "" })
		d.out.Close() // as if the launcher had exited
		if _, err := d.Run(ctxT(t, 5*time.Second), runReq(`{}`)); err == nil {
			t.Fatal("Run succeeded on a closed fd 3")
		}
	})
}
