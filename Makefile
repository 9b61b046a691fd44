.PHONY: help build test unit e2e bench generate lint
help:      ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'
build:     ## build bin/wharf
	go build -o bin/wharf ./cmd/wharf
test:      ## install test dependencies and run every test tier (what CI runs)
	scripts/test
unit:      ## unit and in-process integration tests only
	go test -race ./internal/... ./api/... ./test/integration/...
e2e:       ## end-to-end tests against the built binary (aws CLI, boto3)
	go test -count=1 ./test/e2e/...
bench:     ## benchmarks (see docs/benchmarks.md)
	go test -run '^$$' -bench . -benchmem ./internal/... ./test/...
generate:  ## regenerate api/*api from api/models
	go generate ./api/
lint:      ## gofmt, go vet and staticcheck
	gofmt -l . && go vet ./... && go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
