package redistest_test

import (
	"bufio"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gust-faas/gust/internal/redistest"
)

func TestStartServesAndStops(t *testing.T) {
	var addr string
	t.Run("serve", func(t *testing.T) {
		u, err := url.Parse(redistest.Start(t))
		if err != nil {
			t.Fatal(err)
		}
		if u.Scheme != "redis" || !strings.HasPrefix(u.Host, "127.0.0.1:") {
			t.Fatalf("url = %v, want redis://127.0.0.1:<port>/0", u)
		}
		addr = u.Host
		if got := command(t, addr, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"); got != "+OK\r\n" {
			t.Fatalf("SET answered %q, want +OK", got)
		}
		if got := command(t, addr, "*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$4\r\nsave\r\n"); got != "*2\r\n" {
			t.Fatalf("CONFIG GET save answered %q", got)
		}
	})
	if addr == "" {
		return // skipped
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("redis-server on %s still accepts connections after the test ended", addr)
	}
}

func TestStartGivesEachCallItsOwnServer(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t)
	if a == b {
		t.Fatalf("two Start calls returned the same server %s", a)
	}
}

// command sends one RESP command and returns the first line of the reply.
func command(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(cmd)); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return line
}

func TestStartSentinelKnowsTheMaster(t *testing.T) {
	master := redistest.Start(t)
	u, err := url.Parse(redistest.StartSentinel(t, master))
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Query().Get("master_name"); got != redistest.SentinelMaster {
		t.Fatalf("master_name = %q, want %q", got, redistest.SentinelMaster)
	}
	m, _ := url.Parse(master)
	_, port, _ := net.SplitHostPort(m.Host)
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("*3\r\n$8\r\nSENTINEL\r\n$23\r\nget-master-addr-by-name\r\n$4\r\ngust\r\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	var lines []string
	for range 5 { // *2, $len, host, $len, port
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the answer after %q: %v", lines, err)
		}
		lines = append(lines, strings.TrimSpace(line))
	}
	if lines[0] != "*2" || lines[2] != "127.0.0.1" || lines[4] != port {
		t.Fatalf("sentinel answered %q, want the master 127.0.0.1:%s", lines, port)
	}
}
