# Guildhall: the two commands a new user needs are `make run` and `make test`.
GO      ?= go
ADDR    ?= 127.0.0.1:8000
DB      ?= ./guildhall.db
BIN     := bin/guildhall

.PHONY: run test test-postgres build generate bench bench-postgres fuzz lint clean

run: ## start the server on $(ADDR) with $(DB) (created on first run; a postgres:// URL works too)
	$(GO) run ./cmd/guildhall serve --addr $(ADDR) --db $(DB)

# The race detector also turns on checkptr, which checks every unsafe.Pointer
# conversion. modernc.org/sqlite is SQLite translated from C, all pointer
# arithmetic: checking it costs half of the suite's CPU and proves nothing about
# our code, which keeps checkptr (as does every other module). The race
# detector itself stays on everywhere.
TESTFLAGS ?= -race -count=1 -gcflags='modernc.org/...=-d=checkptr=0'

# With GUILDHALL_TEST_POSTGRES set (a PostgreSQL URL on which the tests may
# create databases), the first pass also runs the tests of several servers
# on one database, and the db and handlers tests run a second time, on
# PostgreSQL (see db/dbtest).
test: ## every test, with the race detector; on PostgreSQL too when GUILDHALL_TEST_POSTGRES is set
	GORACE=atexit_sleep_ms=0 $(GO) test $(TESTFLAGS) ./...
	@if [ -n "$$GUILDHALL_TEST_POSTGRES" ]; then \
		echo "GUILDHALL_TEST_BACKEND=postgres $(GO) test $(TESTFLAGS) ./db/... ./handlers"; \
		GUILDHALL_TEST_BACKEND=postgres GORACE=atexit_sleep_ms=0 $(GO) test $(TESTFLAGS) ./db/... ./handlers; \
	fi

test-postgres: ## make test with a throwaway PostgreSQL cluster (.ci/postgres), stopped at the end
	@dir=$$(mktemp -d) && trap '.ci/postgres stop "'"$$dir"'"; rm -rf "'"$$dir"'"' EXIT && \
		url=$$(.ci/postgres start "$$dir") && GUILDHALL_TEST_POSTGRES="$$url" $(MAKE) test

build: generate
	$(GO) build -o $(BIN) ./cmd/guildhall

generate: ## regenerate *_templ.go from views/*.templ
	$(GO) tool templ generate

# BENCHDB, a PostgreSQL URL, adds the PostgreSQL phases (-db). It is passed
# quoted: a URL with a socket directory holds a '&' the shell would take.
bench: build ## measure the server against the machine's ceilings (see docs/PERFORMANCE.md); BENCHDB=postgres://... adds PostgreSQL
	$(GO) run ./cmd/guildhall-bench -bin $(BIN) $(if $(BENCHDB),-db '$(BENCHDB)') $(BENCHFLAGS)

bench-postgres: ## make bench with -db on a throwaway PostgreSQL cluster, durable as SQLite's synchronous=FULL (.ci/postgres)
	@dir=$$(mktemp -d) && trap '.ci/postgres stop "'"$$dir"'"; rm -rf "'"$$dir"'"' EXIT && \
		url=$$(.ci/postgres start "$$dir" durable) && $(MAKE) bench BENCHDB="$$url"

FUZZTIME ?= 30s
fuzz: ## run each fuzz target for $(FUZZTIME); the corpora under testdata/ also run in make test
	$(GO) test -run '^$$' -fuzz '^FuzzAPIRequest$$' -fuzztime $(FUZZTIME) ./handlers
	$(GO) test -run '^$$' -fuzz '^FuzzSessionCookie$$' -fuzztime $(FUZZTIME) ./handlers
	$(GO) test -run '^$$' -fuzz '^FuzzSplitObject$$' -fuzztime $(FUZZTIME) ./handlers
	$(GO) test -run '^$$' -fuzz '^FuzzMembershipListJSON$$' -fuzztime $(FUZZTIME) ./handlers
	$(GO) test -run '^$$' -fuzz '^FuzzValidateUsername$$' -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz '^FuzzValidatePassword$$' -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz '^FuzzNormalizeOrganizationName$$' -fuzztime $(FUZZTIME) .

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$'))" || (gofmt -l . && exit 1)

clean:
	rm -rf bin
