#!/usr/bin/env bash
# Builds the storefront SPA (services/storefront/web) into web/dist, which the
# storefront Go binary embeds. Installs the pinned npm packages with `npm ci`
# only when package-lock.json changed since the last install (a marker in
# node_modules), so a second run only builds (~5-20 s).
#   scripts/storefront-web.sh            install if needed, then build
#   scripts/storefront-web.sh --deps     install if needed, no build
set -euo pipefail
cd "$(dirname "$0")/../services/storefront/web"
die() { printf 'storefront-web: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null && command -v npm >/dev/null \
  || die "node and npm are needed to build the SPA (sudo apt-get install -y nodejs npm; Node >= 20.19)"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || die "Node >= 20.19 is needed (Vite 7); found $(node --version)"

# go test runs the Vitest and the browser test packages at once: one
# install/build at a time.
exec 9>.build.lock
flock 9
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ "$(cat node_modules/.goshop-lock 2>/dev/null)" != "$want" ]]; then
  echo "==> npm ci in services/storefront/web"
  npm ci --no-audit --no-fund --no-update-notifier --prefer-offline
  echo "$want" > node_modules/.goshop-lock
fi
[[ "${1:-}" == --deps ]] && exit 0
echo "==> building the storefront SPA into services/storefront/web/dist"
npm run --silent build
