# Mutual: the two commands a newcomer needs are `make run` and `make test`.
# Everything else here is what they call, and what developers and CI share.

GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
DATA      ?= ./data
LISTEN    ?= 127.0.0.1:8080
WEB       ?= build/web
SITE      ?= build/site

.PHONY: run build deps server web bundle test test-fresh test-go test-wasm test-interop test-services bench lint services-up services-down clean

## run: build everything and start the relay, serving the web app, on the embedded default at http://$(LISTEN)
run: build
	$(BIN)/mutual serve --dev --listen $(LISTEN) --data $(DATA) --web $(WEB)

## build: the server, the command-line client and the web app
build: server web

## deps: check Go and fetch the modules the build needs (make test installs the rest)
deps:
	scripts/deps.sh run

## server: the server and the command-line client
server: deps
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags='$(LDFLAGS)' -o $(BIN)/mutual ./cmd/mutual
	$(GO) build -trimpath -ldflags='$(LDFLAGS)' -o $(BIN)/mutual-cli ./cmd/mutual-cli

## web: the web app in $(WEB): app.wasm and its brotli and gzip copies
web: server
	@mkdir -p $(WEB)
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o $(WEB)/app.wasm ./cmd/web
	$(BIN)/mutual bundle --prepare-only --web $(WEB)

## bundle: the web app as a static website in $(SITE), for any web server (see $(SITE)/README.md)
bundle: web
	$(BIN)/mutual bundle --web $(WEB) $(SITE)

## test: install what the tests need and run every test
test:
	scripts/test.sh

## test-fresh: remove what make test installs (Chromium, PostgreSQL, Kafka jars, Go caches), then run it in a clean clone
test-fresh:
	scripts/fresh-machine.sh --yes

## bench: Go benchmarks and the load generator, with figures
bench: server
	scripts/bench.sh

## lint: formatting and vet, native and js/wasm
lint:
	@test -z "$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go'))" || { gofmt -l $$(git ls-files -co --exclude-standard '*.go'); exit 1; }
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./crypto/... ./relay/wire/... ./app/... ./cmd/web

## services-up: start the real Kafka broker, PostgreSQL and the S3 server used by the cluster tests
services-up:
	scripts/kafka.sh start
	scripts/postgres.sh start
	scripts/versitygw.sh start

## services-down: stop them
services-down:
	-scripts/kafka.sh stop
	-scripts/postgres.sh stop
	-scripts/versitygw.sh stop

clean:
	rm -rf $(BIN) $(WEB) $(SITE)
