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
