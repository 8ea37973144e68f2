# The shop's developer entry points. `make help` lists them.
SHELL := /usr/bin/env bash
GO ?= go
# go1.26.8 has standard-library vulnerabilities reachable from our code
# (make vulncheck); the go command fetches this patched toolchain once.
export GOTOOLCHAIN := go1.26.11
# Every build outside the race tests uses the flags of the release images and
# of testenv.Binary (static, -trimpath), so vet, staticcheck, the deployment
# tests, the service binaries the tests start, fuzzing and benchmarks share
# one compiled copy of the dependencies (on an empty cache that halves the
# compiling); the race tests need cgo and build their own.
export CGO_ENABLED := 0
export GOFLAGS := -trimpath
# Every module of go.work, as package patterns (./... does not cross modules).
PKGS := $(shell $(GO) list -m -f '{{.Dir}}/...' 2>/dev/null)
TOOLS := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/goshop/tools
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(TOOLS)/staticcheck-$(STATICCHECK_VERSION)/staticcheck
# A count, not a duration: with a duration go1.26's fuzz coordinator can fail a
# target with a bare "context deadline exceeded" when the machine is busy
# (go.dev/issue/75804, fixed in go1.27); a count has no deadline to race.
FUZZTIME ?= 100000x

.PHONY: help dev demo-incident test system-packages lint vulncheck unit fuzz bench bench-smoke bench-run build images tools directus n8n jaeger stripe-mock kube-tools dashboards schemas clean-dev storefront-web

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

dev: ## run the whole shop locally (PostgreSQL, Redis, api, 2 order-workers, Directus, catalog-sync) without Docker
	@scripts/dev.sh

demo-incident: ## with make dev running: start order traffic, flip a fault (INCIDENT=slow-worker or poison), show where to watch and how to recover (docs/operations.md)
	@scripts/demo-incident.sh

test: system-packages lint vulncheck directus n8n jaeger stripe-mock kube-tools unit ## everything CI runs: lint, then unit + integration tests on real PostgreSQL, Redis, Directus, n8n, Prometheus and Jaeger, and the Helm charts on a real Kubernetes control plane

system-packages: ## install the Debian/Ubuntu packages make test needs that are missing (sudo when not root; instant when all are there)
	@scripts/install-system-packages.sh test

# Without -race: the deployment checks (charts, compose, Tiltfile: sequential
# harness over Kubernetes and Helm libraries) and the tests that only drive
# service processes (the live-stack and the storefront's browser test: the
# services run as their own binaries, which -race would not reach).
NORACE := charts/test/... compose/... tilt/... dashboards/... services/storefront/e2e
NORACE_RE := ^github.com/goshop-platform/shop/(charts/test|compose|tilt|dashboards)(/|$$)|/services/storefront/e2e$$

# -vet=off: make test runs the full go vet first (lint); go test would vet
# again, in the race build's configuration.
# -json through tools/testsummary: the same output as go test, plus every
# skipped test with its reason; a skip not in its allowed-skips.txt fails.
SUMMARY = $(GO) run ./tools/testsummary tools/testsummary/allowed-skips.txt

unit: ## go tests of every module (starts throwaway PostgreSQL/Redis servers, a Kubernetes control plane... itself)
	set -o pipefail; race=$$($(GO) list $(PKGS) | grep -Ev '$(NORACE_RE)') && \
	CGO_ENABLED=1 $(GO) test -json -race -vet=off -count=1 -timeout 20m $$race | $(SUMMARY)
	set -o pipefail; $(GO) test -json -vet=off -count=1 -timeout 20m $(addprefix ./,$(NORACE)) | $(SUMMARY)

lint: $(STATICCHECK) ## gofmt, go vet, staticcheck
	@unformatted=$$(gofmt -l services dashboards charts compose tilt tools); if [[ -n "$$unformatted" ]]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(STATICCHECK) $(PKGS)
	@# testenv's Docker fallback is a module outside go.work (docs/testing.md); no Docker
	@# engine runs in CI, so this keeps it compiling (CGO_ENABLED=0 as testenv builds it).
	cd tools/testdocker && GOWORK=off CGO_ENABLED=0 $(GO) vet ./... && GOWORK=off CGO_ENABLED=0 $(STATICCHECK) ./...

vulncheck: ## govulncheck every module against a pinned offline snapshot of the Go vulnerability database
	@scripts/vulncheck.sh

fuzz: ## run every fuzz target for FUZZTIME each (found by grep: listing them with go test -list would build every test binary)
	@set -e; for file in $$(grep -rl --include='*_test.go' '^func Fuzz' services dashboards); do \
	  for f in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
	    echo "==> fuzz ./$$(dirname $$file) $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./$$(dirname $$file); \
	  done; done

BENCH_DIR ?= .bench
BENCH_PKGS := ./services/api/internal/app/ ./services/api/internal/order/ ./services/order-worker/internal/app/ ./services/catalog-sync/internal/app/

bench: ## measure against the machine's limits in one run (~6 min): prints one table, writes .bench/report.json
	@$(MAKE) --no-print-directory bench-run BENCH_SMOKE= BENCH_TIMEOUT=20m

bench-smoke: ## the same harness with tiny sizes (< 60 s, figures meaningless): keeps `make bench` working in CI
	@$(MAKE) --no-print-directory bench-run BENCH_SMOKE=1 BENCH_TIMEOUT=5m

bench-run:
	@mkdir -p $(BENCH_DIR); rm -f $(BENCH_DIR)/rows.jsonl
	@for pkg in $(BENCH_PKGS); do \
	  echo "==> benchmarks in $$pkg"; \
	  BENCH_SMOKE=$(BENCH_SMOKE) BENCH_REPORT=$(CURDIR)/$(BENCH_DIR)/rows.jsonl \
	    $(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout $(BENCH_TIMEOUT) $$pkg || exit 1; \
	done
	@echo; $(GO) run ./services/platform/benchreport/table $(BENCH_DIR)/rows.jsonl $(BENCH_DIR)/report.json

build: storefront-web ## build the service binaries (storefront with its SPA embedded) and loadgen into bin/
	$(GO) build -o bin/api ./services/api/cmd/api
	$(GO) build -o bin/order-worker ./services/order-worker/cmd/order-worker
	$(GO) build -o bin/catalog-sync ./services/catalog-sync/cmd/catalog-sync
	$(GO) build -o bin/loadgen ./services/loadgen/cmd/loadgen
	$(GO) build -o bin/storefront ./services/storefront/cmd/storefront

images: ## build the five container images (docker buildx bake -f docker-bake.hcl; needs a Docker engine)
	docker buildx bake -f docker-bake.hcl

storefront-web: ## build the storefront SPA into services/storefront/web/dist (npm ci when the lock changed; needs Node >= 20.19)
	@scripts/storefront-web.sh

tools: $(STATICCHECK) ## install pinned Go tools into the cache

directus: ## install the pinned Directus + Node 22 into the cache (first run ~1-2 min, then instant)
	@scripts/install-directus.sh

n8n: ## install the pinned n8n + Node 24 into the cache (first run ~4-5 min, then instant)
	@scripts/install-n8n.sh

kube-tools: ## build the pinned Kubernetes control plane, helm, helm-unittest, kwok and CRDs for the chart tests into the cache (first run ~10 min, then instant)
	@scripts/install-kube-tools.sh

jaeger: ## build the pinned Jaeger (tools/jaeger) into the cache (first run ~3-7 min, then instant)
	@scripts/install-jaeger.sh

stripe-mock: ## install the pinned stripe-mock (Stripe's API mock, for the Stripe provider's tests) into the cache (first run ~1 min, then instant)
	@scripts/install-stripe-mock.sh

dashboards: ## regenerate the Grafana dashboards (dashboards/grafana/) from their Go code, and what each chart ships of them and of dashboards/alerts/shop.rules.yml (charts/*/files/)
	@# Helm reads no file outside a chart: the charts' files are generated outputs (the dashboards module's tests fail when they are not current).
	cd dashboards && $(GO) run ./cmd/gen-dashboards -out grafana -charts ../charts -rules alerts/shop.rules.yml

schemas: ## regenerate charts/*/values.schema.json from charts/shop-lib/values.schema.src.json, each chart's values.schema.src.json and the services' Go config types (`<service> config-schema`)
	@# charts/test fails when a values.schema.json is not what this writes (after a Go config field changes, too).
	$(GO) run ./charts/test/cmd/gen-schemas -charts charts -services services

CHARTS := api order-worker catalog-sync storefront loadgen
.PHONY: charts
# make test checks the charts too.
test: charts
charts: ## helm dependency build (the shop-lib library chart into each chart's charts/), helm lint --strict of every chart with each of its ci/*.yaml values files, then the helm-unittest suites (helm and helm-unittest from make kube-tools)
	@scripts/install-kube-tools.sh
	@set -e; bin=$$(scripts/install-kube-tools.sh --print-dir)/bin; \
	for c in $(CHARTS); do $$bin/helm dependency build charts/$$c >/dev/null; done; \
	echo "==> helm lint --strict charts/shop-lib"; $$bin/helm lint --strict --quiet charts/shop-lib; \
	for c in $(CHARTS); do for v in charts/$$c/ci/*.yaml; do \
	  echo "==> helm lint --strict charts/$$c -f $$v"; $$bin/helm lint --strict --quiet charts/$$c -f $$v; \
	done; done; \
	echo "==> helm-unittest"; $$bin/helm-unittest --strict $(addprefix charts/,$(CHARTS))

$(STATICCHECK):
	@echo "==> installing staticcheck $(STATICCHECK_VERSION) into $(dir $@)"
	GOBIN=$(dir $@) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

clean-dev: ## delete the local dev state (.dev/: database, Redis data, keys)
	rm -rf .dev bin

# docker compose fallback (docker-compose.yml; docs/compose.md).
# Windows: run the same `docker compose` commands in PowerShell, or make in WSL.
COMPOSE ?= docker compose
.PHONY: compose-env compose-up compose-down compose-logs

compose-env: ## write .env for docker compose from .env.example with random secrets (never overwrites one)
	@compose/gen-env.sh

compose-up: ## build and start the docker-compose stack (COMPOSE_PROFILES in .env picks optional parts)
	@test -f .env || { echo "no .env: cp .env.example .env and set its secrets, or run: make compose-env"; exit 1; }
	$(COMPOSE) up -d --build --remove-orphans
	@$(COMPOSE) ps
	@echo; echo "shop http://localhost:8088 · api http://localhost:8080 · Directus http://localhost:8055 · Grafana http://localhost:3000 · Prometheus http://localhost:9090 · Jaeger http://localhost:16686 · n8n http://localhost:5678 · Appsmith http://localhost:8000 (optional parts only with their profile); logins: docs/compose.md"

compose-down: ## stop the docker-compose stack, every profile (V=1 also deletes its volumes: database, Redis, keys)
	$(COMPOSE) --profile '*' down --remove-orphans $(if $(V),--volumes)

compose-logs: ## follow the docker-compose logs (SERVICE=api for one service)
	$(COMPOSE) --profile '*' logs -f --tail=200 $(SERVICE)
