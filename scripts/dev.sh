#!/usr/bin/env bash
# make dev: run the whole shop locally without Docker.
# Starts PostgreSQL and Redis as local processes under .dev/ (or uses
# DATABASE_URL / REDIS_URL when given), migrates, creates a demo admin and a
# demo catalogue, runs the api, two order-workers, Directus and catalog-sync,
# with Prometheus scraping them all and Jaeger receiving their traces, and
# stops everything on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STATE=${SHOP_DEV_DIR:-$ROOT/.dev}
PG_PORT=${PG_PORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}
API_PORT=${API_PORT:-8080}
DIRECTUS_PORT=${DIRECTUS_PORT:-8055}
SHOP_PORT=${SHOP_PORT:-8088}
PROM_PORT=${PROM_PORT:-9090}
DIRECTUS_ADMIN_TOKEN=dev-directus-admin-token
SYNC_TOKEN=dev-catalog-sync-token
ADMIN_EMAIL=admin@example.com
ADMIN_PASSWORD=${ADMIN_PASSWORD:-shop-admin-demo}
CUSTOMER_EMAIL=customer@shop.local
CUSTOMER_PASSWORD=shop-customer-demo

say() { printf '\033[1;34m==> %s\033[0m\n' "$*"; }
die() { printf '\033[1;31mdev: %s\033[0m\n' "$*" >&2; exit 1; }

mkdir -p "$STATE" "$ROOT/bin"
PIDS=()
cleanup() {
  say "stopping"
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [[ -n "${PG_STARTED:-}" ]]; then as_pg "$PG_BIN/pg_ctl" -D "$STATE/pg" -m fast -w stop >/dev/null 2>&1 || true; fi
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The Debian/Ubuntu packages this run needs (PostgreSQL, Redis, Prometheus,
# npm, build tools for Directus, curl): installed when missing, else instant.
scripts/install-system-packages.sh dev

# PostgreSQL refuses to run as root: use the postgres system user then.
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [[ -z "${DATABASE_URL:-}" ]]; then
  # Where testenv and install-system-packages.sh look: PG_BIN, Debian's folders, PATH.
  if [[ -z ${PG_BIN:-} ]]; then
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [[ -x "$PG_BIN/initdb" ]] || ! initdb=$(command -v initdb) || PG_BIN=$(dirname "$initdb")
  fi
  [[ -x "$PG_BIN/initdb" ]] || die "PostgreSQL server not found. Install it (sudo apt-get install -y postgresql) or set DATABASE_URL."
  if [[ ! -f "$STATE/pg/PG_VERSION" ]]; then
    say "initialising PostgreSQL in $STATE/pg (first run only)"
    mkdir -p "$STATE/pg"
    [[ $(id -u) == 0 ]] && chown postgres "$STATE" "$STATE/pg"
    as_pg "$PG_BIN/initdb" -D "$STATE/pg" --auth=trust -U postgres -E UTF8 --locale=C >/dev/null
  fi
  port_busy "$PG_PORT" && die "port $PG_PORT is in use; stop that PostgreSQL or run: PG_PORT=5433 make dev (or set DATABASE_URL)"
  say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  as_pg "$PG_BIN/pg_ctl" -D "$STATE/pg" -l "$STATE/postgres.log" -w \
    -o "-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null
  PG_STARTED=1
  as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='shop'" | grep -q 1 \
    || as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres shop
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/shop?sslmode=disable"
fi

if [[ -z "${REDIS_URL:-}" ]]; then
  command -v redis-server >/dev/null || die "redis-server not found. Install it (sudo apt-get install -y redis-server) or set REDIS_URL."
  port_busy "$REDIS_PORT" && die "port $REDIS_PORT is in use; stop that Redis or run: REDIS_PORT=6380 make dev (or set REDIS_URL)"
  say "starting Redis on 127.0.0.1:$REDIS_PORT (append-only file in $STATE/redis)"
  mkdir -p "$STATE/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$STATE/redis" --appendonly yes --save "" \
    --loglevel warning --logfile "$STATE/redis.log" &
  PIDS+=($!)
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
fi

# Jaeger (traces over OTLP, in memory) and Prometheus (scrapes every service,
# evaluates the shop's alert rules). SKIP_OBSERVABILITY=1 leaves both out.
start_observability() {
  command -v prometheus >/dev/null || die "prometheus not found. Install it (sudo apt-get install -y --no-install-recommends prometheus) or run SKIP_OBSERVABILITY=1 make dev"
  scripts/install-jaeger.sh
  local jaeger="${XDG_CACHE_HOME:-$HOME/.cache}/goshop/jaeger-1.76.0/jaeger" p
  for p in 4317 4318 16685 16686 13133; do
    port_busy "$p" && die "port $p is in use (Jaeger needs 4317 4318 16685 16686 13133); stop that process or run SKIP_OBSERVABILITY=1 make dev"
  done
  port_busy "$PROM_PORT" && die "port $PROM_PORT is in use (a Prometheus service?); stop it or run: PROM_PORT=9091 make dev"
  say "starting Jaeger (query API http://127.0.0.1:16686, OTLP http://127.0.0.1:4318, logs: $STATE/jaeger.log)"
  "$jaeger" --config "$ROOT/tools/jaeger/jaeger.yaml" >>"$STATE/jaeger.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do curl -fsS http://127.0.0.1:13133/status >/dev/null 2>&1 && break; sleep 0.2; done
  curl -fsS http://127.0.0.1:13133/status >/dev/null 2>&1 || { tail -20 "$STATE/jaeger.log"; die "Jaeger did not start; see $STATE/jaeger.log"; }
  export API_TELEMETRY_OTLP_ENDPOINT=http://127.0.0.1:4318 WORKER_TELEMETRY_OTLP_ENDPOINT=http://127.0.0.1:4318 \
    SYNC_TELEMETRY_OTLP_ENDPOINT=http://127.0.0.1:4318
  # Job names are the ones the dashboards and alert rules select on.
  cat >"$STATE/prometheus.yml" <<PROM
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - $ROOT/dashboards/alerts/shop.rules.yml
scrape_configs:
  - job_name: api
    static_configs: [{targets: ["127.0.0.1:$API_PORT"]}]
  - job_name: order-worker
    static_configs: [{targets: ["127.0.0.1:8081", "127.0.0.1:8083"]}]
  - job_name: catalog-sync
    static_configs: [{targets: ["127.0.0.1:8082"]}]
  - job_name: storefront
    static_configs: [{targets: ["127.0.0.1:$SHOP_PORT"]}]
PROM
  say "starting Prometheus on http://127.0.0.1:$PROM_PORT (data in $STATE/prometheus, logs: $STATE/prometheus.log)"
  prometheus --config.file="$STATE/prometheus.yml" --web.listen-address="127.0.0.1:$PROM_PORT" \
    --storage.tsdb.path="$STATE/prometheus" --storage.tsdb.retention.time=2d >>"$STATE/prometheus.log" 2>&1 &
  PIDS+=($!)
  OBSERVABILITY_LINES="  Prometheus   http://127.0.0.1:$PROM_PORT (targets: /targets, alerts: /alerts)
  Jaeger       http://127.0.0.1:16686/api/traces?service=api&limit=20 (query API; the web UI is a placeholder in this build)"
}
if [[ -z "${SKIP_OBSERVABILITY:-}" ]]; then start_observability; fi

say "building the storefront SPA, api, order-worker, catalog-sync and storefront"
scripts/storefront-web.sh
go build -o "$ROOT/bin/api" ./services/api/cmd/api
go build -o "$ROOT/bin/order-worker" ./services/order-worker/cmd/order-worker
go build -o "$ROOT/bin/catalog-sync" ./services/catalog-sync/cmd/catalog-sync
go build -o "$ROOT/bin/storefront" ./services/storefront/cmd/storefront

export API_DATABASE_URL=$DATABASE_URL API_REDIS_URL=$REDIS_URL
export API_HTTP_ADDR=127.0.0.1:$API_PORT API_HTTP_DRAIN_DELAY=0s
export API_AUTH_KEYS_DIR=$STATE/keys API_AUTH_ACTIVE_KEY_ID=dev-1
export API_CORS_ALLOWED_ORIGINS=${API_CORS_ALLOWED_ORIGINS:-http://localhost:8088,http://127.0.0.1:8088,http://localhost:8000}
# The mock payment provider: test cards, no network, no money. Stripe's test
# mode instead: API_PAYMENTS_PROVIDER=stripe plus its two secrets in your shell.
export API_PAYMENTS_PROVIDER=${API_PAYMENTS_PROVIDER:-mock}
[[ -f "$STATE/keys/dev-1.pem" ]] || { say "creating a JWT signing key in $STATE/keys"; "$ROOT/bin/api" gen-key --dir "$STATE/keys" --kid dev-1 >/dev/null; }

# One config document per service, only for what may change while running
# (spec.faults: docs/fault-injection.md; make demo-incident edits them): the
# services reload an edited file without a restart. Everything else comes
# from the environment above.
for svc in api:APIConfig order-worker:OrderWorkerConfig catalog-sync:CatalogSyncConfig; do
  f="$STATE/${svc%%:*}.yaml"
  [[ -f $f ]] || printf 'apiVersion: shop.goshop.dev/v1alpha1\nkind: %s\nspec:\n  faults: {}\n' "${svc#*:}" >"$f"
done
export API_CONFIG=$STATE/api.yaml

say "migrating the database"
for i in $(seq 1 30); do "$ROOT/bin/api" migrate >/dev/null 2>"$STATE/migrate.err" && break; sleep 1
  [[ $i == 30 ]] && { cat "$STATE/migrate.err"; die "migration failed; is PostgreSQL reachable at $DATABASE_URL?"; }; done
say "creating the demo admin and catalogue"
ADMIN_PASSWORD=$ADMIN_PASSWORD "$ROOT/bin/api" create-admin --email "$ADMIN_EMAIL" >/dev/null
"$ROOT/bin/api" seed-demo >/dev/null

say "starting api on http://127.0.0.1:$API_PORT (logs: $STATE/api.log)"
"$ROOT/bin/api" serve >>"$STATE/api.log" 2>&1 &
API_PID=$!
PIDS+=($API_PID)
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$API_PID" 2>/dev/null || { tail -20 "$STATE/api.log"; die "api exited; see $STATE/api.log"; }
  sleep 0.2
done
# Two workers show the consumer group sharing the stream.
# Admin ports 8081 and 8083 (8082 is catalog-sync's).
for i in 1 2; do
  port=$((8079 + 2 * i))
  say "starting order-worker $i (admin http://127.0.0.1:$port, logs: $STATE/order-worker-$i.log)"
  WORKER_CONFIG=$STATE/order-worker.yaml WORKER_DATABASE_URL=$DATABASE_URL WORKER_REDIS_URL=$REDIS_URL WORKER_HTTP_ADDR=127.0.0.1:$port \
    WORKER_HTTP_DRAIN_DELAY=0s WORKER_CONSUMER_NAME=dev-worker-$i \
    "$ROOT/bin/order-worker" serve >>"$STATE/order-worker-$i.log" 2>&1 &
  PIDS+=($!)
done
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$API_PORT/api/v1/auth/register" -H 'Content-Type: application/json' \
  -d "{\"email\":\"$CUSTOMER_EMAIL\",\"password\":\"$CUSTOMER_PASSWORD\"}" 2>/dev/null || true


# Directus (the storefront's product content) and catalog-sync keeping it
# equal to Postgres. SKIP_DIRECTUS=1 leaves both out (saves ~300 MB).
start_directus() {
  scripts/install-directus.sh
  local home="${XDG_CACHE_HOME:-$HOME/.cache}/goshop/directus-12.4.0"
  local node; node=$(sed -n 's/^node=//p' "$home/.goshop-install")
  [[ -x "$node" ]] || die "Directus install incomplete; run scripts/install-directus.sh"
  port_busy "$DIRECTUS_PORT" && die "port $DIRECTUS_PORT is in use; stop that Directus or run: DIRECTUS_PORT=8056 make dev (or SKIP_DIRECTUS=1)"
  local db=directus
  if [[ -n "${PG_STARTED:-}" ]]; then
    as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
      || as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$db"
  fi
  mkdir -p "$STATE/directus/uploads"
  [[ -f "$STATE/directus/secret" ]] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$STATE/directus/secret"
  local env=(PATH="$(dirname "$node"):/usr/bin:/bin" HOME="$STATE/directus" HOST=127.0.0.1 PORT="$DIRECTUS_PORT"
    PUBLIC_URL="http://127.0.0.1:$DIRECTUS_PORT" DB_CLIENT=pg DB_HOST=127.0.0.1 DB_PORT="$PG_PORT" DB_DATABASE="$db"
    DB_USER=postgres DB_PASSWORD= SECRET="$(cat "$STATE/directus/secret")" ADMIN_EMAIL=admin@example.com
    ADMIN_PASSWORD="$ADMIN_PASSWORD" ADMIN_TOKEN="$DIRECTUS_ADMIN_TOKEN" TELEMETRY=false PROJECT_OWNER_ENABLED=false
    LICENSE_KEY_MANAGEMENT_ENABLED=false AI_ENABLED=false EMAIL_VERIFY_SETUP=false PACKAGE_FILE_LOCATION="$home"
    EXTENSIONS_PATH="$ROOT/services/catalog-sync/directus/extensions" STORAGE_LOCAL_ROOT="$STATE/directus/uploads" LOG_STYLE=raw
    CORS_ENABLED=true CORS_ORIGIN="http://127.0.0.1:$SHOP_PORT,http://localhost:$SHOP_PORT")
  local run="$home/node_modules/@directus/api/dist/cli/run.js"
  say "starting Directus on http://127.0.0.1:$DIRECTUS_PORT (logs: $STATE/directus.log)"
  (cd "$STATE/directus" && env -i "${env[@]}" "$node" "$run" bootstrap >>"$STATE/directus.log" 2>&1) \
    || { tail -20 "$STATE/directus.log"; die "Directus bootstrap failed; see $STATE/directus.log"; }
  (cd "$STATE/directus" && exec env -i "${env[@]}" "$node" "$run" start >>"$STATE/directus.log" 2>&1) &
  PIDS+=($!)
  for _ in $(seq 1 150); do
    curl -fsS "http://127.0.0.1:$DIRECTUS_PORT/server/ping" >/dev/null 2>&1 && return
    sleep 0.2
  done
  tail -20 "$STATE/directus.log"; die "Directus did not answer /server/ping; see $STATE/directus.log"
}

# n8n (optional, ~750 MB): with N8N=1 catalog-sync hands events to the
# shipped workflow instead of writing to Directus itself.
start_n8n() {
  scripts/install-n8n.sh
  local home="${XDG_CACHE_HOME:-$HOME/.cache}/goshop/n8n-2.41.1"
  local node; node=$(sed -n 's/^node=//p' "$home/.goshop-install")
  [[ -x "$node" ]] || die "n8n install incomplete; run scripts/install-n8n.sh"
  port_busy 5678 && die "port 5678 is in use; stop that n8n first"
  mkdir -p "$STATE/n8n"
  [[ -f "$STATE/n8n/key" ]] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$STATE/n8n/key"
  local env=(PATH="$(dirname "$node"):/usr/bin:/bin" HOME="$STATE/n8n" N8N_USER_FOLDER="$STATE/n8n"
    N8N_LISTEN_ADDRESS=127.0.0.1 N8N_PORT=5678 WEBHOOK_URL=http://127.0.0.1:5678/ N8N_ENCRYPTION_KEY="$(cat "$STATE/n8n/key")"
    DB_TYPE=sqlite N8N_DIAGNOSTICS_ENABLED=false N8N_PERSONALIZATION_ENABLED=false N8N_VERSION_NOTIFICATIONS_ENABLED=false
    N8N_TEMPLATES_ENABLED=false N8N_HIRING_BANNER_ENABLED=false N8N_LICENSE_AUTO_RENEW_ENABLED=false
    N8N_COMMUNITY_PACKAGES_ENABLED=false N8N_AI_ENABLED=false EXTERNAL_FRONTEND_HOOKS_URLS= N8N_PUBLIC_API_DISABLED=true
    N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS=false NODE_ENV=production)
  local bin="$home/node_modules/n8n/bin/n8n" wf="$ROOT/services/catalog-sync/n8n/catalog-sync-workflow.json"
  local id; id=$(sed -n 's/^  "id": "\(.*\)",$/\1/p' "$wf" | head -1)
  say "importing the catalog-sync workflow into n8n (logs: $STATE/n8n.log)"
  (cd "$STATE/n8n" && env -i "${env[@]}" "$node" "$bin" import:workflow --input="$wf" >>"$STATE/n8n.log" 2>&1 \
    && env -i "${env[@]}" "$node" "$bin" publish:workflow --id="$id" >>"$STATE/n8n.log" 2>&1) \
    || { tail -20 "$STATE/n8n.log"; die "n8n workflow import failed; see $STATE/n8n.log"; }
  say "starting n8n on http://127.0.0.1:5678"
  (cd "$STATE/n8n" && exec env -i "${env[@]}" "$node" "$bin" start >>"$STATE/n8n.log" 2>&1) &
  PIDS+=($!)
  for _ in $(seq 1 300); do
    curl -s http://127.0.0.1:5678/webhook/catalog-sync 2>/dev/null | grep -q "POST request" && return
    sleep 0.2
  done
  tail -20 "$STATE/n8n.log"; die "n8n's catalog-sync webhook did not come up; see $STATE/n8n.log"
}
if [[ -z "${SKIP_DIRECTUS:-}" ]]; then
  if [[ -z "${PG_STARTED:-}" ]]; then
    say "Directus needs the local PostgreSQL of make dev; skipping it (DATABASE_URL was given)"
  else
    start_directus
    SYNC_TARGET=directus
    if [[ -n "${N8N:-}" ]]; then start_n8n; SYNC_TARGET=n8n; fi
    say "starting catalog-sync, target $SYNC_TARGET (admin http://127.0.0.1:8082, logs: $STATE/catalog-sync.log)"
    SYNC_CONFIG=$STATE/catalog-sync.yaml SYNC_TARGET=$SYNC_TARGET SYNC_N8N_WEBHOOK_URL=http://127.0.0.1:5678/webhook/catalog-sync SYNC_DATABASE_URL=$DATABASE_URL SYNC_DIRECTUS_URL=http://127.0.0.1:$DIRECTUS_PORT \
      SYNC_DIRECTUS_TOKEN=$SYNC_TOKEN SYNC_DIRECTUS_ADMIN_TOKEN=$DIRECTUS_ADMIN_TOKEN \
      SYNC_HTTP_ADDR=127.0.0.1:8082 SYNC_HTTP_DRAIN_DELAY=0s \
      "$ROOT/bin/catalog-sync" serve >>"$STATE/catalog-sync.log" 2>&1 &
    PIDS+=($!)
    DIRECTUS_LINE="  Directus     http://127.0.0.1:$DIRECTUS_PORT/items/products (public read; admin UI: admin@example.com / $ADMIN_PASSWORD)"
  fi
fi

# The storefront: the SPA, reading Directus and calling the api from the
# browser (API_CORS_ALLOWED_ORIGINS above lists its origin).
port_busy "$SHOP_PORT" && die "port $SHOP_PORT is in use; stop that process or run: SHOP_PORT=8089 make dev (and add its origin to API_CORS_ALLOWED_ORIGINS)"
say "starting storefront on http://127.0.0.1:$SHOP_PORT (logs: $STATE/storefront.log)"
STOREFRONT_HTTP_ADDR=127.0.0.1:$SHOP_PORT STOREFRONT_HTTP_DRAIN_DELAY=0s STOREFRONT_API_URL=http://127.0.0.1:$API_PORT \
  STOREFRONT_DIRECTUS_URL=http://127.0.0.1:$DIRECTUS_PORT "$ROOT/bin/storefront" serve >>"$STATE/storefront.log" 2>&1 &
PIDS+=($!)

if [[ $API_PAYMENTS_PROVIDER == mock ]]; then
  PAYMENTS_LINE="  payments     mock provider: card 4242 4242 4242 4242 pays, 4000 0000 0000 0002 is declined (no money moves)"
else
  PAYMENTS_LINE="  payments     $API_PAYMENTS_PROVIDER (API_PAYMENTS_PROVIDER)"
fi
cat <<MSG

  The shop is running. Ctrl-C stops everything.

  shop         http://127.0.0.1:$SHOP_PORT   (admin pages: log in as the admin below, then /admin)
  api          http://127.0.0.1:$API_PORT/api/v1/products
  OpenAPI      http://127.0.0.1:$API_PORT/api/v1/openapi.json
  metrics      http://127.0.0.1:$API_PORT/metrics   workers: http://127.0.0.1:8081/metrics http://127.0.0.1:8083/metrics
${DIRECTUS_LINE:-  Directus     not started}
${OBSERVABILITY_LINES:-  Prometheus   not started (SKIP_OBSERVABILITY)}
  PostgreSQL   $DATABASE_URL
  Redis        $REDIS_URL

  console      http://127.0.0.1:$SHOP_PORT/admin/queues (dead letters, pauses, catalogue sync: docs/operations.md)
  faults       off; edit spec.faults in $STATE/{api,order-worker,catalog-sync}.yaml (reloaded live), or: make demo-incident

  admin        $ADMIN_EMAIL / $ADMIN_PASSWORD
  customer     $CUSTOMER_EMAIL / $CUSTOMER_PASSWORD
$PAYMENTS_LINE

  try:  curl -s -X POST http://127.0.0.1:$API_PORT/api/v1/auth/login -H 'Content-Type: application/json' \\
          -d '{"email":"$CUSTOMER_EMAIL","password":"$CUSTOMER_PASSWORD"}'

MSG
wait "$API_PID"
