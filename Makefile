# leadhouse — `make run` starts the service on the embedded engine, `make test` runs every suite.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin

GO          ?= go
BIN         := bin/leadhouse
CHDB_PKG    := @chdb/lib-linux-x64-gnu
CHDB_VER    := 26.7.3-stable.1
# npm's integrity string for the tarball above; `make deps` refuses anything else.
CHDB_SRI    := sha512-XP97mMqnc5tZpKQywR8N7cLTsHNiTmHr30pC5mzo3jWmukjKn2IBa60c2B/gWUNcuFjOMjWoorQICCqBVj5wpw==
CHDB_DIR    := .cache/chdb
CHDB_LIB    := $(CURDIR)/$(CHDB_DIR)/libchdb.so
export LEADHOUSE_CHDB_LIB ?= $(CHDB_LIB)

.PHONY: deps build run test test-browser bench fuzz lint clean

deps: $(CHDB_DIR)/libchdb.so
	$(GO) mod download

$(CHDB_DIR)/libchdb.so:
	@mkdir -p $(CHDB_DIR)/tmp
	cd $(CHDB_DIR)/tmp && npm pack --silent $(CHDB_PKG)@$(CHDB_VER) >/dev/null
	@got="sha512-$$(openssl dgst -sha512 -binary $(CHDB_DIR)/tmp/*.tgz | base64 -w0)"; \
	  if [ "$$got" != "$(CHDB_SRI)" ]; then echo "libchdb tarball integrity mismatch: got $$got" >&2; rm -rf $(CHDB_DIR)/tmp; exit 1; fi
	tar -xzf $(CHDB_DIR)/tmp/*.tgz -C $(CHDB_DIR)/tmp package/libchdb.so
	mv $(CHDB_DIR)/tmp/package/libchdb.so $(CHDB_DIR)/libchdb.so
	rm -rf $(CHDB_DIR)/tmp

build:
	$(GO) build -trimpath -ldflags "-X main.version=$$(git describe --always --dirty 2>/dev/null || echo dev)" -o $(BIN) ./cmd/leadhouse

# A fresh clone runs with no configuration: a development token and analyst password (printed) and
# the embedded engine as a ClickHouse server on this machine.
run: deps build
	@tok="$${LEADHOUSE_TOKEN:-leadhouse-dev-token}"; pw="$${LEADHOUSE_ANALYST_PASSWORD:-analyst-dev-password}"; \
	  echo "leadhouse: development token is $$tok (set LEADHOUSE_TOKEN to change it)"; \
	  echo "leadhouse: analysts connect as analyst / $$pw to http://127.0.0.1:$${LEADHOUSE_ENGINE_HTTP_PORT:-8123} or native port $${LEADHOUSE_ENGINE_NATIVE_PORT:-9000} (set LEADHOUSE_ANALYST_PASSWORD to change it)"; \
	  LEADHOUSE_TOKEN="$$tok" LEADHOUSE_ANALYST_PASSWORD="$$pw" $(BIN) serve

test: deps
	$(GO) vet ./...
	LEADHOUSE_REQUIRE_CHDB=1 $(GO) test -race -count=1 -timeout 15m ./...

# Only the status page in headless Chromium (make test runs it too). Run as root it installs
# Debian's chromium when missing; screenshots go to $(or $(LEADHOUSE_TEST_ARTIFACTS),test-artifacts/).
test-browser: deps
	LEADHOUSE_REQUIRE_CHDB=1 $(GO) test -race -count=1 -timeout 15m -run 'TestStatusPageInABrowser' -v ./cmd/leadhouse/

# Benchmarks are separate from tests: timings on these shared machines are noisy, so figures are
# medians of repeated runs, never assertions.
bench: deps build
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./flatten/ ./schema/ ./sink/... ./server/ ./gen/
	./scripts/bench.sh

FUZZTIME ?= 20s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg; \
	  done; \
	done

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting" >&2; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

clean:
	rm -rf bin
