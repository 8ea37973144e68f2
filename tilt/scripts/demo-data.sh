#!/usr/bin/env bash
# The demo catalogue and the demo customer in the kind cluster, as `make dev`
# creates them (the admin comes from the api's bootstrapAdmin setting).
# Idempotent: seed-demo adds products only to an empty catalogue, and a
# second registration of the customer is refused (409).
#   tilt/scripts/demo-data.sh [KUBE_CONTEXT] [API_BINARY_IN_THE_IMAGE]
set -euo pipefail
context=${1:-kind-shop}
binary=${2:-/usr/local/bin/api}
kubectl --context "$context" --namespace shop exec deploy/api -c api -- "$binary" seed-demo
status=$(curl -sS -o /dev/null -w '%{http_code}' --retry 10 --retry-connrefused --retry-delay 1 \
  -X POST http://localhost:8080/api/v1/auth/register -H 'Content-Type: application/json' \
  -d '{"email":"customer@shop.local","password":"shop-customer-demo"}')
case $status in
  201 | 409) echo "demo customer customer@shop.local / shop-customer-demo ready" ;;
  *) echo "demo-data: registering the demo customer answered $status" >&2; exit 1 ;;
esac
