package invoker

import (
	"container/list"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/gust-faas/gust/runtimes"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// codeCache loads action code for /init: from the message when it carries
// the code, else from the store by digest, with an LRU cache by digest
// bounded in bytes. Kind go code is compiled (runtimes.CompileGo, which
// keeps its own cache on disk) and the cache holds the executable, base64.
//
// The store holds exactly the text of whisk.Exec.Code (base64 when Binary),
// so the loaded code goes to /init as it is.
type codeCache struct {
	codes    store.Codes
	compile  func(ctx context.Context, cacheDir string, code []byte, main string) (string, error)
	goCache  string
	compileT time.Duration
	limit    int

	mu      sync.Mutex
	size    int
	entries map[string]*list.Element
	order   list.List // of *codeEntry, most recent first
}

type codeEntry struct {
	key    string
	code   string
	binary bool
}

func newCodeCache(codes store.Codes, limitBytes int, goCache string, compileT time.Duration,
	compile func(context.Context, string, []byte, string) (string, error)) *codeCache {
	return &codeCache{codes: codes, compile: compile, goCache: goCache, compileT: compileT, limit: limitBytes, entries: map[string]*list.Element{}}
}

// load returns the code to send to /init for action a of kind. Compilation
// failures wrap runtimes.ErrCompile (a developer error); the rest wrap
// ErrCode.
func (cc *codeCache) load(ctx context.Context, a *whisk.Action, kind string) (code string, binary bool, err error) {
	ex := &a.Exec
	digest := ex.Digest
	if digest == "" {
		if ex.Code == "" {
			return "", false, fmt.Errorf("%w: the action has neither code nor a code digest", ErrCode)
		}
		if kind != whisk.KindGo {
			return ex.Code, ex.Binary, nil
		}
	}
	key := digest
	if kind == whisk.KindGo {
		key = "go:" + digest + ":" + ex.Main
	}
	if digest != "" {
		if e, ok := cc.get(key); ok {
			return e.code, e.binary, nil
		}
	}
	src, binary := ex.Code, ex.Binary
	if digest != "" {
		b, err := cc.codes.GetCode(ctx, digest)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return "", false, fmt.Errorf("%w: code %s of %s is not in the store", ErrCode, digest, a.Name)
			}
			return "", false, fmt.Errorf("%w: %w", ErrCode, err)
		}
		src = string(b)
	}
	if kind == whisk.KindGo {
		if src, err = cc.compileGo(ctx, src, binary, ex.Main); err != nil {
			return "", false, err
		}
		binary = true
	}
	if digest != "" {
		cc.put(&codeEntry{key: key, code: src, binary: binary})
	}
	return src, binary, nil
}

// compileGo builds a kind go action into an executable and returns it in
// base64. An executable or a zip holding one goes through unchanged.
func (cc *codeCache) compileGo(ctx context.Context, src string, binary bool, main string) (string, error) {
	raw := []byte(src)
	if binary {
		var err error
		if raw, err = base64.StdEncoding.DecodeString(src); err != nil {
			return "", fmt.Errorf("%w: the binary code is not valid base64: %w", ErrCode, err)
		}
		if isExecutable(raw) {
			return src, nil
		}
	}
	if main == "" {
		main = "main"
	}
	ctx, cancel := context.WithTimeout(ctx, cc.compileT)
	defer cancel()
	path, err := cc.compile(ctx, cc.goCache, raw, main)
	if err != nil {
		if errors.Is(err, runtimes.ErrCompile) {
			return "", err
		}
		return "", fmt.Errorf("%w: compiling: %w", ErrCode, err)
	}
	exe, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: reading the compiled action: %w", ErrCode, err)
	}
	return base64.StdEncoding.EncodeToString(exe), nil
}

// isExecutable reports an ELF file or a script: already runnable code.
func isExecutable(b []byte) bool {
	return len(b) > 4 && (string(b[:4]) == "\x7fELF" || string(b[:2]) == "#!")
}

func (cc *codeCache) get(key string) (*codeEntry, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	el, ok := cc.entries[key]
	if !ok {
		return nil, false
	}
	cc.order.MoveToFront(el)
	return el.Value.(*codeEntry), true
}

func (cc *codeCache) put(e *codeEntry) {
	n := len(e.code)
	if n > cc.limit {
		return
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if _, ok := cc.entries[e.key]; ok {
		return
	}
	cc.entries[e.key] = cc.order.PushFront(e)
	cc.size += n
	for cc.size > cc.limit {
		el := cc.order.Back()
		old := el.Value.(*codeEntry)
		cc.order.Remove(el)
		delete(cc.entries, old.key)
		cc.size -= len(old.code)
	}
}
