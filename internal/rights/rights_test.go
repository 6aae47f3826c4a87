package rights

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestParse sends two descriptors over a socket pair and reads them back.
func TestParse(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := unix.Sendmsg(fds[0], []byte("x"), unix.UnixRights(int(r.Fd()), int(w.Fd())), nil, 0); err != nil {
		t.Fatal(err)
	}
	buf, oob := make([]byte, 1), make([]byte, unix.CmsgSpace(2*4))
	_, oobn, _, _, err := unix.Recvmsg(fds[1], buf, oob, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(oob[:oobn])
	if err != nil || len(got) != 2 {
		t.Fatalf("Parse = %v, %v; want two descriptors", got, err)
	}
	// The received write end reaches the same pipe.
	if _, err := unix.Write(got[1], []byte("y")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if n, _ := r.Read(b); n != 1 || b[0] != 'y' {
		t.Fatalf("read %q through the received descriptor, want y", b[:n])
	}
	for _, fd := range got {
		unix.Close(fd)
	}
	if got, err := Parse(nil); got != nil || err != nil {
		t.Fatalf("Parse(nil) = %v, %v", got, err)
	}
	if _, err := Parse(unix.UnixCredentials(&unix.Ucred{Pid: 1})); err == nil {
		t.Fatal("credentials parsed as descriptors")
	}
}
