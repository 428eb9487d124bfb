# Ronghe — the two commands a newcomer needs are `make demo` and `make test`.
GO ?= go
BIN := bin/ronghe

.PHONY: demo test test-postgres build vet lint bench fuzz clean

demo: build ## run the whole exchange in a temporary directory: onboard three banks, submit, verify
	$(BIN) demo

build:
	$(GO) build -o $(BIN) ./cmd/ronghe

test: vet ## unit, integration and fuzz-seed tests; PostgreSQL tests skip with a message when no server is reachable
	$(GO) test -count=1 -timeout 30m ./...

test-postgres: vet ## the same tests, failing instead of skipping when PostgreSQL is absent (CI)
	RONGHE_REQUIRE_POSTGRES=1 $(GO) test -count=1 -timeout 30m ./...

vet: ## go vet, and gofmt must have nothing to change
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(find . -name '*.go' -not -path './bin/*' -not -path './.git/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi

lint: vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2x ./...

clean:
	rm -rf bin
