# Gust's developer entry points. `make up` starts the platform; `make test`
# runs every test (installing the Debian packages they need when run as root).

GO      ?= go
BINDIR  ?= bin
BIN     := $(BINDIR)/gust
# The sandbox side alone (the linux sandbox's init, the runtime proxy): gust
# starts it instead of itself when it is next to it, for faster cold starts.
SANDBOX := $(BINDIR)/gust-sandbox
SOURCES := $(shell find . -name '*.go' -not -path './bin/*') go.mod go.sum $(shell find runtimes -type f -not -name '*.go')

.PHONY: build up test deps bench lint clean

build: $(BIN) $(SANDBOX)

# Both binaries are built together and carry one build identity, a hash of
# the sources: gust uses a gust-sandbox only when it carries gust's own
# (internal/reexec), so a stale one is never used.
$(BIN) $(SANDBOX) &: $(SOURCES)
	$(eval BUILD_ID := $(shell sha256sum $(SOURCES) | sha256sum | cut -c1-16))
	$(GO) build -ldflags '-X github.com/gust-faas/gust/internal/reexec.Build=$(BUILD_ID)' -o $(BIN) ./cmd/gust
	$(GO) build -ldflags '-X github.com/gust-faas/gust/internal/reexec.Build=$(BUILD_ID)' -o $(SANDBOX) ./cmd/gust-sandbox

up: $(BIN) $(SANDBOX)
	$(BIN) up

# Debian packages the tests use, as what-to-look-for:package: a real
# redis-server for the Redis store's suite, iproute2 and nftables for sandbox
# egress, chromium for the browser test of the example web service, and QEMU,
# a Debian kernel and a static busybox for the sandboxes' tests on a pure
# cgroup v2 guest (sandbox/linux/guest_test.go). Without root, or when a
# package cannot be installed, the tests that need it skip and say why.
DEBS := redis-server:redis-server ip:iproute2 nft:nftables chromium:chromium
DEBS_LEAN := qemu-system-x86_64:qemu-system-x86 /boot/vmlinuz-*:linux-image-amd64 busybox:busybox-static
deps:
	@missing=""; lean=""; \
	have() { case "$$1" in /*) ls $$1 >/dev/null 2>&1 ;; *) command -v $$1 >/dev/null 2>&1 ;; esac; }; \
	for d in $(DEBS); do have "$${d%%:*}" || missing="$$missing $${d#*:}"; done; \
	for d in $(DEBS_LEAN); do have "$${d%%:*}" || lean="$$lean $${d#*:}"; done; \
	if [ -z "$$missing$$lean" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "make deps: not root, so these tests will skip: apt-get install$$missing$$lean"; exit 0; fi; \
	echo "installing:$$missing$$lean"; \
	DEBIAN_FRONTEND=noninteractive apt-get update -qq || true; \
	for p in $$missing; do \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$p >/dev/null || echo "make deps: could not install $$p; the tests that need it will skip"; \
	done; \
	for p in $$lean; do \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$p >/dev/null || echo "make deps: could not install $$p; the tests that need it will skip"; \
	done

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

bench: $(BIN) $(SANDBOX)
	$(BIN) bench

clean:
	rm -rf $(BINDIR)
