#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages that `make dev`, `make test` and CI
# (.ci/run) need and that are missing; does nothing, in milliseconds and
# without `apt-get update`, when everything is there.
#
#   scripts/install-system-packages.sh dev|test             install what is missing
#   scripts/install-system-packages.sh --dry-run dev|test   only say what it would install
#
#   test (make test, .ci/run): postgresql redis-server prometheus python3 npm make g++ chromium
#   dev  (make dev):           postgresql redis-server prometheus python3 npm make g++ curl,
#     less what the run leaves out: DATABASE_URL / REDIS_URL (your own servers),
#     SKIP_OBSERVABILITY (Prometheus), SKIP_DIRECTUS (Directus's native build tools, unless N8N).
#
# Not root: it uses `sudo -n` (never prompts). Where sudo would ask for a
# password, or apt-get does not exist (macOS, Fedora...), it stops with the
# list of what to install by hand. Node (>= 20.19) and Go are expected on PATH.
#
# Detection uses shell builtins only, so it runs (and its dry run is tested,
# services/platform/testenv/install_test.go) with any PATH.
set -euo pipefail

say() { printf 'system packages: %s\n' "$*"; }
die() {
  printf 'system packages: ERROR: %s\n' "$1" >&2
  shift
  for line in "$@"; do printf '  %s\n' "$line" >&2; done
  exit 1
}

dry_run=
if [[ ${1:-} == --dry-run ]]; then
  dry_run=1
  shift
fi
profile=${1:-}
[[ $profile == dev || $profile == test ]] || die "usage: $0 [--dry-run] dev|test"

have() { command -v "$1" >/dev/null; }
# The places testenv and scripts/dev.sh look for the PostgreSQL server: PG_BIN
# when set (and only there), else Debian's folders, else PATH.
have_postgres() {
  if [[ -n ${PG_BIN:-} ]]; then [[ -x $PG_BIN/initdb ]]; return; fi
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || have initdb
}

# want PACKAGE WHAT: PACKAGE is needed; WHAT says for what, in the
# message for a machine without apt.
need=() what=()
want() {
  local pkg=$1
  case $pkg in
    postgresql) have_postgres ;;
    prometheus) have prometheus && have promtool ;;
    *) have "$pkg" ;;
  esac || { need+=("$pkg"); what+=("$pkg: $2"); }
}

if [[ $profile == test || -z ${DATABASE_URL:-} ]]; then want postgresql "PostgreSQL 15 server (initdb, postgres, pgbench)"; fi
if [[ $profile == test || -z ${REDIS_URL:-} ]]; then want redis-server "Redis 7 (redis-server, redis-cli, redis-benchmark)"; fi
# testenv.Prometheus, the alert rule tests (promtool), make dev's Prometheus.
if [[ $profile == test || -z ${SKIP_OBSERVABILITY:-} ]]; then want prometheus "Prometheus 2 (prometheus, promtool)"; fi
# npm builds the storefront SPA and installs Directus and n8n, whose native
# modules (isolated-vm, argon2, sqlite3) node-gyp compiles with python3,
# make and g++; the order-worker tests also run Python's smtpd.
want npm "npm, for the Node that is on PATH"
if [[ $profile == test || ( -z ${SKIP_DIRECTUS:-} && -z ${DATABASE_URL:-} ) || -n ${N8N:-} ]]; then
  want python3 "Python 3"
  want make "make"
  want g++ "a C++ compiler (g++)"
fi
# The storefront's browser tests drive Chromium with playwright-core.
if [[ $profile == test ]]; then want chromium "Chromium (chromium on PATH)"; fi
# scripts/dev.sh waits for each service with curl.
if [[ $profile == dev ]]; then want curl "curl"; fi

if ((${#need[@]} == 0)); then
  say "all present for make $profile"
  exit 0
fi

sudo=()
how="apt-get as root"
if ((EUID != 0)); then
  sudo=(sudo -n)
  how="sudo apt-get"
fi
manual="sudo apt-get install -y --no-install-recommends ${need[*]}"
if [[ -n $dry_run ]]; then
  say "would install with $how: ${need[*]}"
  exit 0
fi

have apt-get || die "missing: ${need[*]}, and this machine has no apt-get to install them with." \
  "Install these by hand (on macOS with Homebrew: postgresql@15 redis prometheus python node; Chromium from its site):" \
  "${what[@]}" "Then run this again."
if ((EUID != 0)); then
  have sudo || die "missing: ${need[*]}; installing them needs root, and sudo is not installed." "Fix, as root: ${manual#sudo }"
  "${sudo[@]}" true 2>/dev/null || die "missing: ${need[*]}; sudo needs a password, and this script never asks for one." "Fix: $manual" "Then run this again."
fi

say "installing ${need[*]} with $how (apt-get update first; ~1-3 min)"
# Waits for another apt (an unattended upgrade, a parallel CI job) to finish.
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
"${apt[@]}" update -qq ||
  die "apt-get update failed (output above)." "Fix: check the apt sources and network, then run this again."
"${apt[@]}" install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
  die "apt-get install ${need[*]} failed (output above)." \
    "On Ubuntu Chromium is only a snap: sudo snap install chromium, then run this again."
# The packages may start system services on the default ports. make dev
# and the tests run their own servers, so stop the ones this run installed.
for svc in postgresql redis-server prometheus; do
  if [[ " ${need[*]} " == *" $svc "* ]]; then
    "${sudo[@]}" service "$svc" stop >/dev/null 2>&1 || true
  fi
done
say "installed ${need[*]}"
