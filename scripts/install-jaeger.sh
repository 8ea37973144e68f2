#!/usr/bin/env bash
# Builds the pinned Jaeger all-in-one (v1, OTLP receiver + memory store +
# query API) from source into the user's cache:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/goshop/jaeger-<version>/jaeger
#
# `go install github.com/jaegertracing/jaeger/cmd/jaeger@v1.76.0` is refused
# (Jaeger's go.mod has replace directives), so the version is pinned in a
# build-only module, tools/jaeger (go.mod `tool` line + go.sum), kept out of
# go.work and the services' modules. The build flags are fixed: changing them
# makes Go recompile everything.
#
# The first build takes ~3 min on an idle 2-core machine (7 min measured while
# it was shared; ~2.3 GB peak RAM, ~85 MB binary,
# the modules come from the Go module proxy); a run that finds the binary with
# a marker for the same go.sum does nothing. The web UI is a placeholder in
# this build (its assets are not on any registry reachable here); the HTTP API
# on :16686 is complete.
#
# scripts/dev.sh (make dev) and services/platform/testenv (testenv.Jaeger) run
# this binary with tools/jaeger/jaeger.yaml or a config shaped like it.
set -euo pipefail

JAEGER_VERSION=v1.76.0
MARKER=.goshop-install
INSTALLER=install-jaeger

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=$ROOT/tools/jaeger
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/goshop
JAEGER_HOME=$CACHE/jaeger-${JAEGER_VERSION#v}
BIN=$JAEGER_HOME/jaeger
# shellcheck source=scripts/lib/install.sh
source "$ROOT/scripts/lib/install.sh"

[[ -n ${1:-} ]] && die "unknown argument '$1' (this script takes none)"
command -v go >/dev/null || die "go not found." "Fix: install Go >= 1.26 (see README.md)."
pin_go_toolchain
grep -q "github.com/jaegertracing/jaeger $JAEGER_VERSION" "$SRC/go.mod" ||
  die "$SRC/go.mod does not require jaeger $JAEGER_VERSION." \
    "Fix: (cd $SRC && GOWORK=off go get -tool github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION)"

mkdir -p "$CACHE"
take_install_lock jaeger

sum=$(sha256sum "$SRC/go.sum" | cut -d' ' -f1)
want_marker=$(printf 'jaeger=%s\ngo=%s\ngo_sum_sha256=%s\n' "$JAEGER_VERSION" "$(go env GOVERSION)" "$sum")
if [[ -x $BIN && -f $JAEGER_HOME/$MARKER ]] && [[ $(grep -v '^installed_at=' "$JAEGER_HOME/$MARKER") == "$want_marker" ]]; then
  say "Jaeger $JAEGER_VERSION already installed in $JAEGER_HOME ($(elapsed))"
  exit 0
fi

free_mb=$(df -Pm "$CACHE" | awk 'NR==2 {print $4}')
((free_mb > 1500)) ||
  die "only ${free_mb} MB free in $CACHE; the build needs ~1 GB of modules and build cache." \
    "Fix: free some space, or set XDG_CACHE_HOME to a larger disk."

say "building Jaeger $JAEGER_VERSION into $JAEGER_HOME (go build from $SRC; first build ~3 min on 2 idle cores, longer on a busy machine; ~2.3 GB RAM)"
rm -rf "$JAEGER_HOME"
mkdir -p "$JAEGER_HOME"
log=$JAEGER_HOME/go-build.log
# GOWORK=off: tools/jaeger is deliberately not part of go.work.
if ! PROGRESS_NO_SIZE=1 run_with_progress "$log" "$SRC" \
  env GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$BIN.tmp" github.com/jaegertracing/jaeger/cmd/jaeger; then
  die "go build failed after $(elapsed) (full log: $log). Last lines:" \
    "$(tail -15 "$log")" \
    "Fix: check that the Go module proxy answers ('go env GOPROXY'), then run $0 again."
fi
mv "$BIN.tmp" "$BIN"
"$BIN" version >/dev/null 2>&1 || die "$BIN was built but does not run ('$BIN version')."
"$BIN" validate --config "$SRC/jaeger.yaml" >"$JAEGER_HOME/validate.log" 2>&1 ||
  die "$BIN rejects $SRC/jaeger.yaml:" "$(tail -5 "$JAEGER_HOME/validate.log")"
printf '%s\ninstalled_at=%s\n' "$want_marker" "$(date -u +%FT%TZ)" >"$JAEGER_HOME/$MARKER"
say "Jaeger $JAEGER_VERSION installed in $BIN ($(du -sm "$BIN" | cut -f1) MB, $(elapsed))"
