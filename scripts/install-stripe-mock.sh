#!/usr/bin/env bash
# Installs the pinned stripe-mock (Stripe's API mock, built from Stripe's
# OpenAPI spec: it validates requests and answers fixture objects) into the
# user's cache:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/goshop/stripe-mock-<version>/stripe-mock
#
# It is a plain `go install github.com/stripe/stripe-mock@<version>` from the
# Go module proxy (~1 min cold, ~33 MB binary); Stripe's prebuilt releases
# are not reachable from this network. A run that finds the binary with a
# marker for the same version and Go does nothing.
#
# services/platform/testenv (testenv.StripeMock) runs this binary; the Stripe
# payment provider's tests point stripe-go at it.
set -euo pipefail

STRIPE_MOCK_VERSION=v0.203.0
MARKER=.goshop-install
INSTALLER=install-stripe-mock

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/goshop
HOME_DIR=$CACHE/stripe-mock-$STRIPE_MOCK_VERSION
BIN=$HOME_DIR/stripe-mock
# shellcheck source=scripts/lib/install.sh
source "$ROOT/scripts/lib/install.sh"

[[ -n ${1:-} ]] && die "unknown argument '$1' (this script takes none)"
command -v go >/dev/null || die "go not found." "Fix: install Go >= 1.26 (see README.md)."
pin_go_toolchain

mkdir -p "$CACHE"
take_install_lock stripe-mock

want_marker=$(printf 'stripe-mock=%s\ngo=%s\n' "$STRIPE_MOCK_VERSION" "$(go env GOVERSION)")
if [[ -x $BIN && -f $HOME_DIR/$MARKER ]] && [[ $(grep -v '^installed_at=' "$HOME_DIR/$MARKER") == "$want_marker" ]]; then
  say "stripe-mock $STRIPE_MOCK_VERSION already installed in $HOME_DIR ($(elapsed))"
  exit 0
fi

need_free_mb 500 "go install needs ~300 MB of modules and build cache"

say "installing stripe-mock $STRIPE_MOCK_VERSION into $HOME_DIR (go install from the Go module proxy, ~1 min)"
rm -rf "$HOME_DIR"
mkdir -p "$HOME_DIR/gobin"
log=$HOME_DIR/go-install.log
# GOWORK=off and the cache as working directory: the shop's modules have
# nothing to do with this build. GOBIN is a scratch folder so that a failed
# install leaves no binary that looks complete.
if ! PROGRESS_NO_SIZE=1 run_with_progress "$log" "$HOME_DIR" \
  env GOWORK=off GOFLAGS=-trimpath CGO_ENABLED=0 GOBIN="$HOME_DIR/gobin" \
  go install -ldflags='-s -w' "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION"; then
  die "go install failed after $(elapsed) (full log: $log). Last lines:" \
    "$(tail -15 "$log")" \
    "Fix: check that the Go module proxy answers ('go env GOPROXY'), then run $0 again."
fi
mv "$HOME_DIR/gobin/stripe-mock" "$BIN"
rmdir "$HOME_DIR/gobin"
"$BIN" -version >/dev/null 2>&1 || die "$BIN was built but does not run ('$BIN -version')."
printf '%s\ninstalled_at=%s\n' "$want_marker" "$(date -u +%FT%TZ)" >"$HOME_DIR/$MARKER"
say "stripe-mock $STRIPE_MOCK_VERSION installed in $BIN ($(du -sm "$BIN" | cut -f1) MB, $(elapsed))"
