# Gust's developer entry points. `make up` starts the platform; `make test`
# runs every test (installing the Debian packages they need when run as root).

GO      ?= go
BIN     := bin/gust
SOURCES := $(shell find . -name '*.go' -not -path './bin/*') go.mod go.sum $(shell find runtimes -type f -not -name '*.go')

.PHONY: up test deps bench lint clean

$(BIN): $(SOURCES)
	$(GO) build -o $(BIN) ./cmd/gust

up: $(BIN)
	./$(BIN) up

# Packages the tests use: a real redis-server for the Redis store's suite.
deps:
	@command -v redis-server >/dev/null 2>&1 || { \
		[ "$$(id -u)" = 0 ] || { echo "make deps: run as root, or apt-get install redis-server"; exit 1; }; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

bench: $(BIN)
	./$(BIN) bench

clean:
	rm -rf bin
