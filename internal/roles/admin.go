package roles

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gust-faas/gust/internal/admin"
)

const adminUsage = `usage: gust admin user create|delete NAME
       gust admin user list
flags: --data-dir DIR (default ~/.gust), --redis URL

With gust running, the admin commands go through its admin socket
(<data-dir>/admin.sock); otherwise they open the store directly.`

// Admin runs `gust admin ...` and returns the exit code.
func Admin(args []string) int {
	fs := flag.NewFlagSet("gust admin", flag.ContinueOnError)
	dataDir := fs.String("data-dir", env("DATA_DIR", defaultDataDir()), "data directory of the gust to administer")
	redisURL := fs.String("redis", env("REDIS", ""), "Redis URL of the store, instead of the embedded one")
	fs.Usage = func() { fmt.Fprintln(os.Stderr, adminUsage) }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if len(rest) < 2 || rest[0] != "user" {
		fmt.Fprintln(os.Stderr, adminUsage)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	users, closeFn, err := adminBackend(ctx, *dataDir, *redisURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	defer closeFn()
	if err := adminUser(ctx, users, rest[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	return 0
}

// userAdmin is what `gust admin user` needs, from the socket or the store.
type userAdmin interface {
	CreateUser(ctx context.Context, ns string) (admin.Credentials, error)
	DeleteUser(ctx context.Context, ns string) error
	ListUsers(ctx context.Context) ([]string, error)
}

func adminUser(ctx context.Context, users userAdmin, args []string) error {
	switch {
	case args[0] == "create" && len(args) == 2:
		c, err := users.CreateUser(ctx, args[1])
		if err != nil {
			return err
		}
		fmt.Println(c.Auth())
	case args[0] == "delete" && len(args) == 2:
		if err := users.DeleteUser(ctx, args[1]); err != nil {
			return err
		}
		fmt.Printf("ok: deleted namespace %s\n", args[1])
	case args[0] == "list" && len(args) == 1:
		list, err := users.ListUsers(ctx)
		if err != nil {
			return err
		}
		fmt.Println(strings.Join(list, "\n"))
	default:
		return fmt.Errorf("unknown admin command %q\n%s", strings.Join(args, " "), adminUsage)
	}
	return nil
}

// adminBackend prefers a running gust's admin socket; the embedded store is
// locked by its owner, so opening it directly only works while gust is down.
func adminBackend(ctx context.Context, dataDir, redisURL string) (userAdmin, func(), error) {
	if c, err := admin.Dial(filepath.Join(dataDir, admin.SocketName)); err == nil {
		return c, func() {}, nil
	}
	st, err := openStore(ctx, Config{DataDir: dataDir, RedisURL: redisURL, Retention: 7 * 24 * time.Hour})
	if err != nil {
		return nil, nil, err
	}
	return admin.StoreAdmin{Identities: st}, func() { st.Close() }, nil
}
