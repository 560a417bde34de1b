# Guildhall: the two commands a new user needs are `make run` and `make test`.
GO      ?= go
ADDR    ?= 127.0.0.1:8000
DB      ?= ./guildhall.db
BIN     := bin/guildhall

.PHONY: run test build generate bench fuzz lint clean

run: ## start the server on $(ADDR) with $(DB) (created on first run)
	$(GO) run ./cmd/guildhall serve --addr $(ADDR) --db $(DB)

test: ## every test, with the race detector
	$(GO) test -race -count=1 ./...

build: generate
	$(GO) build -o $(BIN) ./cmd/guildhall

generate: ## regenerate *_templ.go from views/*.templ
	$(GO) tool templ generate

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$'))" || (gofmt -l . && exit 1)

clean:
	rm -rf bin
