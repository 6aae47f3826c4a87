package embednats

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Config of the embedded server.
type Config struct {
	// Listen is HOST:PORT for other processes; port -1 picks a free one,
	// "" listens on a random loopback port (the server always needs one).
	Listen string
	// StoreDir holds JetStream's files; accepted activations survive a
	// restart because they live here.
	StoreDir string
}

// Start starts the server and waits until it accepts connections.
func Start(cfg Config) (*server.Server, error) {
	host, port := "127.0.0.1", -1
	if cfg.Listen != "" {
		h, p, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("nats listen address %q: %w", cfg.Listen, err)
		}
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("nats listen port %q: %w", p, err)
		}
		host = h
	}
	if cfg.StoreDir == "" {
		return nil, errors.New("embedded nats: a JetStream store directory is required")
	}
	srv, err := server.NewServer(&server.Options{
		Host:      host,
		Port:      port,
		JetStream: true,
		StoreDir:  cfg.StoreDir,
		NoSigs:    true,
		NoLog:     true,
		// Large enough for action code travelling inside messages.
		MaxPayload: 64 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats: not ready after 10s (is %s:%d taken?)", host, port)
	}
	return srv, nil
}

// Connect opens an in-process client connection to srv.
func Connect(srv *server.Server, name string) (*nats.Conn, error) {
	return nats.Connect("", nats.InProcessServer(srv), nats.Name(name), nats.MaxReconnects(-1))
}

// Dial connects to a NATS URL, retrying forever on disconnects.
func Dial(url, name string) (*nats.Conn, error) {
	return nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true), nats.ReconnectWait(250*time.Millisecond))
}
