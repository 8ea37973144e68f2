#!/usr/bin/env bash
# The api's JWT signing key for the kind cluster: created once on the host
# (like `make dev`'s .dev/keys) and applied as the Secret the api chart mounts
# (jwt.existingSecret). The key stays the same across `tilt up`s, so tokens
# survive a redeploy; `rm -r .dev/kind/jwt` and a re-run rotate it.
#   tilt/scripts/jwt-key.sh [KUBE_CONTEXT]
set -euo pipefail
cd "$(dirname "$0")/../.."
context=${1:-kind-shop}
kid=${JWT_KID:-dev-1}
dir=.dev/kind/jwt
export GOTOOLCHAIN=${GOTOOLCHAIN:-$(sed -n 's/^export GOTOOLCHAIN := //p' Makefile)}
mkdir -p "$dir"
go run ./services/api/cmd/api gen-key --dir "$dir" --kid "$kid" --if-missing >/dev/null
kubectl --context "$context" --namespace shop create secret generic shop-jwt \
  --from-file="$kid.pem=$dir/$kid.pem" --dry-run=client --output=yaml |
  kubectl --context "$context" apply --filename=-
