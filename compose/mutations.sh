#!/usr/bin/env bash
# Mutation check of the compose tests (compose/*_test.go): every break below
# must make the named test fail with the expected message, or the check it
# stands for cannot fail. Works on a copy of the checkout in a temp dir
# (~7 min on 2 cores; the first run builds the services once more).
#   compose/mutations.sh                 all of them
#   ONLY='appsmith|docs' compose/mutations.sh
set -uo pipefail
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.26.11}
src=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/goshop-mutations.XXXXXX")
trap 'rm -rf "$W"' EXIT
(cd "$src" && tar --exclude=node_modules --exclude=./.git --exclude=./bin --exclude=./.dev \
  --exclude=./.bench --exclude=./tools/kube -cf - .) | tar -xf - -C "$W"
cd "$W"
pass=0; fail=0
mutate() { # name test expect file old new
  local name=$1 test=$2 expect=$3 file=$4 old=$5 new=$6
  if [[ -n "${ONLY:-}" && ! "$name" =~ $ONLY ]]; then return; fi
  cp "$W/$file" "$W/.orig"
  python3 - "$W/$file" "$old" "$new" <<'PY' || { echo "SETUP FAIL $name: pattern not found"; cp "$W/.orig" "$W/$file"; return; }
import sys
p,old,new=sys.argv[1:]
s=open(p).read()
if old not in s: sys.exit(1)
open(p,'w').write(s.replace(old,new,1))
PY
  out=$(cd $W/compose && go test -count=1 -run "^($test)\$" . 2>&1)
  cp "$W/.orig" "$W/$file"
  if grep -q -- "--- FAIL" <<<"$out" && grep -qF -- "$expect" <<<"$out"; then
    pass=$((pass+1)); echo "ok   $name"
  else
    fail=$((fail+1)); echo "MISS $name"; echo "$out" | tail -8
  fi
}
if [[ -z "${ONLY:-}" ]]; then baseline=$(cd $W/compose && go test -count=1 . 2>&1); echo "baseline: $(tail -1 <<<"$baseline")"; grep -A3 -e "--- FAIL" <<<"$baseline"; fi
C=docker-compose.yml
mutate "typo key" TestComposeFileLoads "intervall" $C "      interval: 5s
      timeout: 5s
      retries: 20
      start_period: 10s" "      intervall: 5s
      timeout: 5s
      retries: 20
      start_period: 10s"
mutate "undefined depends_on" TestComposeFileLoads "postgress" $C "    depends_on:
      postgres: {condition: service_healthy}
      redis:" "    depends_on:
      postgress: {condition: service_healthy}
      redis:"
mutate "healthy on no healthcheck" TestDependenciesResolve "has no healthcheck" $C "      api: {condition: service_started}
      directus: {condition: service_healthy}" "      api: {condition: service_healthy}
      directus: {condition: service_healthy}"
mutate "completed on restarting" TestDependenciesResolve "never completes" $C "    command: [\"seed-demo\"]
    environment: *api-env
    depends_on:
      migrate:" "    command: [\"seed-demo\"]
    environment: *api-env
    depends_on:
      redis:"
mutate "healthcheck on distroless" TestDependenciesResolve "distroless" $C "    command: [\"serve\"]
    environment: *api-env" "    command: [\"serve\"]
    healthcheck: {test: [\"CMD\", \"wget\", \"http://127.0.0.1:8080/readyz\"]}
    environment: *api-env"
mutate "no restart policy" TestDependenciesResolve "has no restart policy" $C "    image: directus/directus:12.4.0
    restart: unless-stopped" "    image: directus/directus:12.4.0"
mutate "latest tag" TestImagesPinned "not pinned" $C "image: postgres:15.18-bookworm" "image: postgres:latest"
mutate "major-only tag" TestImagesPinned "not an exact version" $C "image: redis:7.0.15-bookworm" "image: redis:7"
mutate "no tag" TestImagesPinned "not pinned" $C "image: busybox:1.37.0" "image: busybox"
mutate "chart repo mismatch" TestImagesPinned "charts/" $C "image: ghcr.io/goshop-platform/shop/order-worker:" "image: ghcr.io/goshop/order-worker:"
mutate "literal secret" TestSecretsComeFromEnv "literal secret" $C "      POSTGRES_PASSWORD: \${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env (cp .env.example .env)}" "      POSTGRES_PASSWORD: hunter2"
mutate "credentials in URL" TestSecretsComeFromEnv "credentials in a URL" $C "SYNC_DATABASE_URL: postgres://\${POSTGRES_USER:-shop}:\${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}@" "SYNC_DATABASE_URL: postgres://shop:hunter2@"
mutate "undeclared variable" TestSecretsComeFromEnv "does not declare" $C "SECRET: \${DIRECTUS_SECRET:?" "SECRET: \${DIRECTUS_SECRETS:?"
mutate "unused .env setting" TestSecretsComeFromEnv "does not use" .env.example "LOADGEN_CUSTOMERS=5" "LOADGEN_CUSTOMERS=5
UNUSED_THING=1"
mutate "secret with value" TestSecretsComeFromEnv "gives the required secret" .env.example "REDIS_PASSWORD=" "REDIS_PASSWORD=hunter2"
mutate "duplicate host port" TestHostPortsUnique "published by both" $C "\${HOST_IP:-127.0.0.1}:3000:3000" "\${HOST_IP:-127.0.0.1}:9090:3000"
mutate "worker host port" TestHostPortsUnique "order-worker publishes" $C "    build: {context: ., dockerfile: Dockerfile, target: order-worker, args: {SERVICE: order-worker}}
" "    build: {context: ., dockerfile: Dockerfile, target: order-worker, args: {SERVICE: order-worker}}
    ports: [\"8081:8081\"]
"
mutate "container_name" TestHostPortsUnique "container_name" $C "  order-worker:
    <<: *shop-service" "  order-worker:
    container_name: worker
    <<: *shop-service"
mutate "missing Dockerfile" TestBuildContextsExist "does not exist" $C "dockerfile: Dockerfile, target: storefront" "dockerfile: Dockerfile.nope, target: storefront"
mutate "build context" TestBuildContextsExist "repository root" $C "build: {context: ., dockerfile: Dockerfile, target: order-worker" "build: {context: ./services, dockerfile: ../Dockerfile, target: order-worker"
mutate "unknown target" TestBuildContextsExist "has no target" $C "target: catalog-sync, args: {SERVICE: catalog-sync}" "target: catalog-sinc, args: {SERVICE: catalog-sinc}"
mutate "SERVICE mismatch" TestBuildContextsExist "must agree" $C "target: storefront, args: {SERVICE: storefront}" "target: storefront, args: {SERVICE: api}"
mutate "env typo" TestComposeConfigMatchesTheServices "does not read (typo?)" $C "WORKER_NOTIFIER_KIND: log" "WORKER_NOTIFER_KIND: log"
mutate "env refused" TestComposeConfigMatchesTheServices "refused" $C "API_RATE_LIMIT_LOGIN_PER_IP: \${API_RATE_LIMIT_LOGIN_PER_IP:-30}" "API_RATE_LIMIT_LOGIN_PER_IP: \"0\""
mutate "undocumented variable" TestComposeConfigMatchesTheServices "WORKER_CONSUMER_CLAIM_IDLE" docs/configuration.md "\`WORKER_CONSUMER_CLAIM_IDLE\`" "\`WORKER_CONSUMER_CLAIM_IDLEX\`"
mutate "undocumented _FILE" TestComposeConfigMatchesTheServices "API_REDIS_URL_FILE" docs/configuration.md "\`API_REDIS_URL_FILE\`" "\`API_REDIS_URL_FIL\`"
mutate "derivation check" TestConfigNamesAreTheServicesOwn "WORKER_CONSUMER_CONSUMER_GCAFTER" compose/config_test.go "if prevLower || acronymEnd {" "if prevLower || acronymEnd && false {"
mutate "internal URL port" TestInternalURLsResolve "listens on" $C "SYNC_DIRECTUS_URL: http://directus:8055" "SYNC_DIRECTUS_URL: http://directus:8056"
mutate "internal URL host" TestInternalURLsResolve "no service" $C "SYNC_N8N_WEBHOOK_URL: http://n8n:5678" "SYNC_N8N_WEBHOOK_URL: http://n9n:5678"
mutate "prom wrong port" TestPrometheusScrapesEveryService "no scrape job" compose/prometheus/prometheus.yml "        port: 8081" "        port: 8083"
mutate "prom static target" TestPrometheusScrapesEveryService "statically" compose/prometheus/prometheus.yml "  - job_name: prometheus" "  - job_name: extra
    static_configs:
      - targets: [order-worker:8081]
  - job_name: prometheus"
mutate "promtool invalid" TestPrometheusScrapesEveryService "promtool check config" compose/prometheus/prometheus.yml "  scrape_interval: 15s" "  scrape_interval: 15parsecs"
mutate "rules not mounted" TestPrometheusScrapesEveryService "not mounted" $C "      - ./dashboards/alerts/shop.rules.yml:/etc/prometheus/rules/shop.rules.yml:ro" "      - ./dashboards/alerts/shop.rules.yml:/etc/prometheus/alerts/shop.rules.yml:ro"
mutate "scrape vs timeInterval" TestPrometheusScrapesEveryService "timeInterval" compose/prometheus/prometheus.yml "  scrape_interval: 15s" "  scrape_interval: 10s"
mutate "dashboards not mounted" TestGrafanaProvisioning "not mounted" $C "      - ./dashboards/grafana:/var/lib/grafana/dashboards/shop:ro" "      - ./dashboards/grafana:/var/lib/grafana/dashboards/other:ro"
mutate "jaeger ds port" TestGrafanaProvisioning "datasource jaeger" compose/grafana/jaeger.yaml "url: http://jaeger:16686" "url: http://jaeger:16687"
mutate "home dashboard" TestGrafanaProvisioning "home dashboard" $C "dashboards/shop/shop-overview.json" "dashboards/shop/nope.json"
mutate "n8n webhook path" TestN8nWorkflowMatchesTheSync "production webhook" services/catalog-sync/n8n/catalog-sync-workflow.json "\"path\": \"catalog-sync\"" "\"path\": \"catalog-sink\""
mutate "n8n publish id" TestN8nWorkflowMatchesTheSync "does not publish" $C "--id=goshopCatalogSync" "--id=otherWorkflow"
mutate "n8n workflow unmounted" TestN8nWorkflowMatchesTheSync "not mounted" $C ":/workflows/catalog-sync-workflow.json:ro" ":/wf/catalog-sync-workflow.json:ro"
mutate "n8n no import" TestN8nWorkflowMatchesTheSync "does not run" $C "n8n import:workflow --input=/workflows/catalog-sync-workflow.json && " ""
mutate "docs section" TestComposeConfigMatchesTheServices "no section" docs/configuration.md "
## storefront
" "
## the storefront
"
mutate "docs Helm value" TestConfigDocsHelmValuesExist "not a value of charts/order-worker" docs/configuration.md "\`config.consumer.claimIdle\`" "\`config.consumer.claimIdl\`"
mutate "appsmith wrong route" TestAppsmithExportCallsTheAPI "not an operation" compose/appsmith/shop-admin.json "\"path\": \"/api/v1/orders\"" "\"path\": \"/api/v1/order\""
mutate "appsmith wrong method" TestAppsmithExportCallsTheAPI "not an operation" compose/appsmith/shop-admin.json "\"httpMethod\": \"PUT\"" "\"httpMethod\": \"PATCH\""
mutate "appsmith body field" TestAppsmithExportCallsTheAPI "has no body field" compose/appsmith/shop-admin.json "\\\"delta\\\": " "\\\"amount\\\": "
mutate "appsmith missing required" TestAppsmithExportCallsTheAPI "requires body field" compose/appsmith/shop-admin.json "\\\"sku\\\": {{SkuInput.text}},\\n" ""
mutate "appsmith no If-Match" TestAppsmithExportCallsTheAPI "requires header If-Match" compose/appsmith/shop-admin.json "\"key\": \"If-Match\"" "\"key\": \"X-If-Match\""
mutate "appsmith no token" TestAppsmithExportCallsTheAPI "bearer token" compose/appsmith/shop-admin.json "\"value\": \"Bearer {{appsmith.store.token}}\"" "\"value\": \"{{appsmith.store.token}}\""
mutate "appsmith query param" TestAppsmithExportCallsTheAPI "query parameter" compose/appsmith/shop-admin.json "\"key\": \"q\"" "\"key\": \"search\""
mutate "appsmith URL" TestAppsmithExportCallsTheAPI "not a compose service" compose/appsmith/shop-admin.json "\"url\": \"http://api:8080\"" "\"url\": \"http://api:9999\""
mutate "appsmith run missing" TestAppsmithExportCallsTheAPI "there is no action" compose/appsmith/shop-admin.json "{{ListOrders.run()}}" "{{ListOrderz.run()}}"
mutate "appsmith CORS" TestAPIAllowsAppsmithOrigin "does not allow Appsmith" $C ",\${APPSMITH_PUBLIC_URL:-http://localhost:8000}" ""
mutate "docs unknown service" TestComposeDocs "does not have" docs/compose.md "| \`redis\` |" "| \`valkey\` |"
mutate "docs wrong port" TestComposeDocs "publishes no port" docs/compose.md "| \`grafana\` | <http://localhost:3000>" "| \`grafana\` | <http://localhost:3001>"
mutate "docs missing service" TestComposeDocs "does not list service jaeger" docs/compose.md "| \`jaeger\` |" "| jaeger |"
mutate "docs command" TestComposeDocs "--scale order-worker=3" docs/compose.md "--scale order-worker=3" "--scale order-worker=2"
mutate "docs dead link" TestDocLinksResolve "does not exist" services/api/README.md "(openapi/openapi.yaml)" "(openapi/openapi.yml)"
mutate "docs dead anchor" TestDocLinksResolve "has no heading" services/order-worker/README.md "README.md#where-things-happen" "README.md#where-things-go"
mutate "docs line anchor" TestDocLinksResolve "line number" services/api/README.md "(openapi/openapi.yaml)" "(openapi/openapi.yaml#L12)"
mutate "README orphan page" TestREADMEIsTheMap "does not link docs/performance.md" README.md "- [docs/performance.md](docs/performance.md)" "- performance"
mutate "where: moved function" TestWhereThingsHappen "Consumer.claimsLoop is not declared" README.md "\`Consumer.claimLoop\`" "\`Consumer.claimsLoop\`"
mutate "where: wrong receiver" TestWhereThingsHappen "not a method of Batcher" README.md "\`Processor.decide\`" "\`Batcher.decide\`"
mutate "Makefile target" TestMakefileTargets "compose-logs" Makefile "compose-logs: ## follow" "compose-logs: # follow"
echo "mutations caught: $pass, missed: $fail"
((fail == 0))
