#!/usr/bin/env bash
# Compiles one service for its Tilt dev image, on the host (fast, with the Go
# build cache): a static Linux binary for the cluster's architecture plus
# devrunner, into .dev/tilt/<service>/, the image's build context. A file is
# replaced only when its content changed, so a no-op rebuild does not make
# Tilt restart the service.
#   tilt/scripts/go-build.sh SERVICE
set -euo pipefail
svc=${1:?usage: tilt/scripts/go-build.sh SERVICE}
cd "$(dirname "$0")/../.."
[[ -d services/$svc/cmd/$svc ]] || { echo "go-build: no services/$svc/cmd/$svc" >&2; exit 2; }
out=.dev/tilt/$svc
mkdir -p "$out"
export GOTOOLCHAIN=${GOTOOLCHAIN:-$(sed -n 's/^export GOTOOLCHAIN := //p' Makefile)}
# The kind node runs the host's architecture (linux/arm64 on Apple silicon);
# SHOP_GOARCH overrides it for a cluster elsewhere.
export CGO_ENABLED=0 GOOS=linux GOARCH=${SHOP_GOARCH:-$(go env GOHOSTARCH)}
if [[ $svc == storefront ]]; then scripts/storefront-web.sh; fi

build() { # build PACKAGE NAME
  go build -trimpath -ldflags='-s -w' -o "$out/.$2.new" "$1"
  if cmp -s "$out/.$2.new" "$out/$2"; then rm -f "$out/.$2.new"; else mv -f "$out/.$2.new" "$out/$2"; fi
}
build "./services/$svc/cmd/$svc" "$svc"
build ./tilt/cmd/devrunner devrunner
echo "go-build: $out/$svc ($GOOS/$GOARCH)"
