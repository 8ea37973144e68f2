#!/usr/bin/env bash
# make demo-incident: rehearse an incident on the stack `make dev` runs (in
# another terminal). It starts order traffic, flips a fault through the
# services' hot-reloaded config documents in .dev/, prints where to watch it
# and what to click to recover, and puts everything back when you press
# Enter (or after DEMO_SECONDS, for scripts).
#
#   INCIDENT=slow-worker (default)  order-worker slowed down: the backlog ages
#   INCIDENT=poison                 a message no worker can process: a dead letter
set -euo pipefail
ROOT=$PWD
STATE=${SHOP_DEV_DIR:-$ROOT/.dev}
INCIDENT=${INCIDENT:-slow-worker}
API=http://127.0.0.1:${API_PORT:-8080}
SHOP=http://127.0.0.1:${SHOP_PORT:-8088}
PROM=http://127.0.0.1:${PROM_PORT:-9090}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:${REDIS_PORT:-6379}/0}

say() { printf '\033[1;34m==> %s\033[0m\n' "$*"; }
die() { printf '\033[1;31mdemo-incident: %s\033[0m\n' "$*" >&2; exit 1; }

curl -fsS "$API/readyz" >/dev/null 2>&1 || die "no shop answers at $API. Start it first in another terminal: make dev"
for f in order-worker api; do
  [[ -f $STATE/$f.yaml ]] || die "$STATE/$f.yaml is missing: restart make dev (it writes the services' config documents)"
done
case $INCIDENT in slow-worker | poison) ;; *) die "unknown INCIDENT=$INCIDENT; use slow-worker or poison" ;; esac

WORKER_DOC=$(cat "$STATE/order-worker.yaml")
LOADGEN_PID=
cleanup() {
  say "ending the incident: the worker's config document restored, traffic stopped"
  printf '%s\n' "$WORKER_DOC" >"$STATE/order-worker.yaml"
  [[ -n $LOADGEN_PID ]] && kill "$LOADGEN_PID" 2>/dev/null || true
}
trap cleanup EXIT

say "building loadgen"
go build -o "$ROOT/bin/loadgen" ./services/loadgen/cmd/loadgen
# make dev allows 60 orders a minute per customer (5 customers: 4 orders/s)
# and 10 registrations an hour per address: register them once, reuse them.
USERS=$STATE/demo-customers.txt
if [[ ! -s $USERS ]]; then
  say "registering 5 demo customers once (kept in $USERS)"
  "$ROOT/bin/loadgen" register --api "$API" --customers 5 --out "$USERS" >/dev/null ||
    die "registering the demo customers failed (above); the api allows 10 registrations an hour per address: wait, or restart make dev with API_RATE_LIMIT_REGISTER_PER_IP=100"
fi
say "starting order traffic: 4 orders/s for 20 minutes (log: $STATE/demo-loadgen.log)"
"$ROOT/bin/loadgen" run --api "$API" --rate 4/s --duration 20m --mix checkout=90,status=10 --follow none \
  --users-file "$USERS" --max-lines 2 >"$STATE/demo-loadgen.log" 2>&1 &
LOADGEN_PID=$!
sleep 3
kill -0 "$LOADGEN_PID" 2>/dev/null || { LOADGEN_PID=; tail -5 "$STATE/demo-loadgen.log"; die "loadgen stopped (its log above)"; }

case $INCIDENT in
slow-worker)
  say "flipping the fault: spec.faults.slowdown 5s and consumer.concurrency 2 in $STATE/order-worker.yaml"
  cat >"$STATE/order-worker.yaml" <<'DOC'
apiVersion: shop.goshop.dev/v1alpha1
kind: OrderWorkerConfig
spec:
  consumer:
    concurrency: 2
  faults:
    slowdown: 5s
DOC
  cat <<MSG

  Both order-workers now decide 0.4 orders/s each while 4/s arrive. Watch:
    console      $SHOP/admin/queues  (log in as admin@example.com): lag and oldest pending age grow
    alerts       $PROM/alerts  ShopFaultInjectionActive (pending at once), ShopOrderBacklogTooOld
                 (pending once the oldest order waits 2 min, firing 2 min later)
    metrics      $PROM/graph?g0.expr=shop_order_stream_oldest_pending_age_seconds  and  shop_fault_injection_active
    traces       http://127.0.0.1:16686/api/traces?service=order-worker&limit=20  (slow order spans)
    runbook      docs/runbooks.md#shoporderbacklogtooold
  Recover: press Enter (restores the worker's config: slowdown off), then watch the Queues page drain.
  To stop new orders meanwhile: console Queues → Pause intake (reason), and Resume intake after.

MSG
  ;;
poison)
  command -v redis-cli >/dev/null || die "redis-cli not found (sudo apt-get install -y redis-tools)"
  id=$(cat /proc/sys/kernel/random/uuid)
  say "putting a message for the unknown user 999999 on new_orders (a faulty producer)"
  redis-cli -u "$REDIS_URL" XADD new_orders '*' v 1 order_id "$id" user_id 999999 \
    items '[{"product_id":1,"quantity":1}]' accepted_at "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" >/dev/null
  cat <<MSG

  order-worker dead-letters order $id (reason rejected_by_database). Watch:
    console      $SHOP/admin/dead-letters  (log in as admin@example.com): the letter, its fields and error
    alerts       $PROM/alerts  ShopOrderDeadLetters (firing after 1 min)
    runbook      docs/runbooks.md#shoporderdeadletters
  Recover: in the console select it → Discard (reason "demo"), or create the user and Replay it.
  The alert clears within a minute of the dead-letter stream being empty.

MSG
  ;;
esac

if [[ -n ${DEMO_SECONDS:-} ]]; then
  say "running for $DEMO_SECONDS s (DEMO_SECONDS)"
  sleep "$DEMO_SECONDS"
else
  read -r -p "Press Enter to end the incident. " _
fi
