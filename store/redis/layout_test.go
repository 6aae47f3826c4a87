package redis_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/gust-faas/gust/internal/redistest"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/redis"
	"github.com/gust-faas/gust/whisk"
)

var ctx = context.Background()

func open(t *testing.T, url string, opts redis.Options) *redis.Store {
	t.Helper()
	s, err := redis.New(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func raw(t *testing.T, url string) *goredis.Client {
	t.Helper()
	o, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

func activation(ns, path, id string, start int64) *whisk.Activation {
	return &whisk.Activation{
		Namespace: ns, Name: path[strings.LastIndexByte(path, '/')+1:], ActivationID: id, Start: start,
		Response:    whisk.NewResponse(0, json.RawMessage(`{}`)),
		Annotations: whisk.KeyValues{}.Set(whisk.AnnPath, path),
	}
}

// TestKeyLayout pins the layout documented in doc.go, with its expiries.
func TestKeyLayout(t *testing.T) {
	url := redistest.Start(t)
	const retention = time.Hour
	s := open(t, url, redis.Options{Retention: retention})
	rdb := raw(t, url)

	start := time.Now().UnixMilli() - 1000
	digest, err := s.PutCode(ctx, []byte("code"))
	must(t, err)
	must(t, s.PutEntity(ctx, store.Key{Namespace: "guest", Collection: store.Actions, Name: "pkg/hello"}, []byte(`{}`), false))
	must(t, s.PutActivation(ctx, activation("guest", "whisk.system/pkg/hello", "id1", start)))
	must(t, s.PutIdentity(ctx, store.Identity{Namespace: "guest", UUID: "u1", KeyHash: store.HashKey("k")}))
	must(t, s.KVSet(ctx, "guest", "counter", []byte("1"), time.Minute))
	must(t, s.KVSet(ctx, "guest", "forever", []byte("1"), 0))

	// key -> expected PTTL: 0 = none, else roughly this.
	want := map[string]time.Duration{
		"gust:c:" + digest:               0,
		"gust:e:guest:actions:pkg/hello": 0,
		"gust:ei:guest:actions":          0,
		"gust:a:guest:id1":               retention - time.Second,
		"gust:at:guest":                  retention + time.Minute,
		"gust:an:guest:pkg/hello":        retention + time.Minute,
		"gust:i:ns:guest":                0,
		"gust:i:uuid:u1":                 0,
		"gust:i":                         0,
		"gust:kv:guest:counter":          time.Minute,
		"gust:kv:guest:forever":          0,
	}
	all, err := rdb.Keys(ctx, "*").Result()
	must(t, err)
	slices.Sort(all)
	var wantKeys []string
	for k := range want {
		wantKeys = append(wantKeys, k)
	}
	slices.Sort(wantKeys)
	if !slices.Equal(all, wantKeys) {
		t.Fatalf("keys = %q\nwant %q", all, wantKeys)
	}
	for k, ttl := range want {
		got, err := rdb.PTTL(ctx, k).Result()
		must(t, err)
		if ttl == 0 {
			if got != -1 {
				t.Errorf("%s: pttl %v, want none", k, got)
			}
			continue
		}
		if d := got - ttl; d > 0 || d < -5*time.Second {
			t.Errorf("%s: pttl %v, want about %v", k, got, ttl)
		}
	}
	if typ := rdb.Type(ctx, "gust:at:guest").Val(); typ != "zset" {
		t.Fatalf("gust:at:guest is a %s, want a zset", typ)
	}
	if score := rdb.ZScore(ctx, "gust:at:guest", "id1").Val(); int64(score) != start {
		t.Fatalf("index score %v, want the start %d", score, start)
	}
}

func TestPrefixIsolatesInstallations(t *testing.T) {
	url := redistest.Start(t)
	// "a*:" holds glob characters: its SCAN pattern must not match "ab:".
	star := open(t, url, redis.Options{Prefix: "a*:"})
	ab := open(t, url, redis.Options{Prefix: "ab:"})
	must(t, star.KVSet(ctx, "guest", "k1", []byte("1"), 0))
	must(t, ab.KVSet(ctx, "guest", "k2", []byte("2"), 0))
	for _, tc := range []struct {
		s    *redis.Store
		want string
	}{{star, "k1"}, {ab, "k2"}} {
		keys, err := tc.s.KVKeys(ctx, "guest", "", 0)
		must(t, err)
		if !slices.Equal(keys, []string{tc.want}) {
			t.Fatalf("keys = %q, want [%q]", keys, tc.want)
		}
	}
	if _, err := ab.KVGet(ctx, "guest", "k1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another prefix's key: err = %v, want ErrNotFound", err)
	}
}

// TestEvictedRecordLeavesIndex covers a record that vanished before its
// time (maxmemory eviction, a manual DEL): lists skip it and forget it.
func TestEvictedRecordLeavesIndex(t *testing.T) {
	url := redistest.Start(t)
	s := open(t, url, redis.Options{Prefix: "p:"})
	rdb := raw(t, url)
	now := time.Now().UnixMilli()
	must(t, s.PutActivation(ctx, activation("guest", "guest/a", "keep", now)))
	must(t, s.PutActivation(ctx, activation("guest", "guest/a", "gone", now+1)))
	must(t, rdb.Del(ctx, "p:a:guest:gone").Err())
	list, err := s.ListActivations(ctx, "guest", store.ActivationFilter{})
	must(t, err)
	if len(list) != 1 || list[0].ActivationID != "keep" {
		t.Fatalf("list = %d records, want only 'keep'", len(list))
	}
	if err := rdb.ZScore(ctx, "p:at:guest", "gone").Err(); err != goredis.Nil {
		t.Fatalf("the evicted id is still indexed: %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name, url string
		opts      redis.Options
	}{
		{"bad scheme", "http://127.0.0.1:6379", redis.Options{}},
		{"not a url", "::", redis.Options{}},
		{"nobody listening", "redis://:s3cret@127.0.0.1:1/0", redis.Options{}},
		{"negative retention", "redis://127.0.0.1:1", redis.Options{Retention: -time.Second}},
		{"negative pool", "redis://127.0.0.1:1", redis.Options{PoolSize: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			s, err := redis.New(c, tc.url, tc.opts)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			t.Log(err)
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error %q shows the password", err)
			}
		})
	}
}

func TestCloseTwice(t *testing.T) {
	s, err := redis.New(ctx, redistest.Start(t), redis.Options{})
	must(t, err)
	must(t, s.Close())
	must(t, s.Close())
	if _, err := s.GetEntity(ctx, store.Key{Namespace: "a", Collection: store.Actions, Name: "b"}); err == nil {
		t.Fatal("GetEntity after Close succeeded")
	}
}

func TestSentinel(t *testing.T) {
	master := redistest.Start(t)
	s := open(t, redistest.StartSentinel(t, master), redis.Options{})
	must(t, s.KVSet(ctx, "guest", "k", []byte("v"), 0))
	// The write reached the master.
	if v := raw(t, master).Get(ctx, "gust:kv:guest:k").Val(); v != "v" {
		t.Fatalf("master holds %q, want v", v)
	}
}

func TestContextCanceled(t *testing.T) {
	s := open(t, redistest.Start(t), redis.Options{})
	c, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.GetActivation(c, "guest", "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
