#!/usr/bin/env bash
# govulncheck every module of go.work against a pinned snapshot of the Go
# vulnerability database. vuln.go.dev is not reachable from CI machines, so
# the database is built from the OSV reports of golang.org/x/vulndb, which
# the Go module proxy serves (tools/vulndb). Bump VULNDB_VERSION (and its
# commit time) to pick up newer reports: `go list -m -json golang.org/x/vulndb@latest`.
#
#   scripts/vulncheck.sh                   every module of go.work (make vulncheck)
#   scripts/vulncheck.sh tools/testdocker  the named modules outside go.work
#                                          (docs/testing.md lists what that one reports)
#   scripts/vulncheck.sh --install         only install govulncheck and build the database
set -euo pipefail
cd "$(dirname "$0")/.."
VULN_VERSION=v1.9.0
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018
VULNDB_TIME=2026-11-05T23:49:57Z
cache=${XDG_CACHE_HOME:-$HOME/.cache}/goshop
bin=$cache/tools/govulncheck-$VULN_VERSION/govulncheck
db=$cache/vulndb-$VULNDB_VERSION

if [[ ! -x $bin ]]; then
  echo "installing govulncheck $VULN_VERSION into $(dirname "$bin")"
  GOBIN=$(dirname "$bin") GOWORK=off go install "golang.org/x/vuln/cmd/govulncheck@$VULN_VERSION"
fi
if [[ ! -f $db/index/db.json ]]; then
  echo "building the vulnerability database from golang.org/x/vulndb $VULNDB_VERSION (~25 MB from the module proxy, once)"
  src=$(cd / && GOWORK=off GOFLAGS=-mod=mod go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d $src/data/osv ]] || { echo "no data/osv in '$src': is the Go module proxy reachable (GOPROXY=$(go env GOPROXY))?" >&2; exit 1; }
  rm -rf "$db.tmp"
  (cd tools/vulndb && GOWORK=off go run . -src "$src/data/osv" -modified "$VULNDB_TIME" -out "$db.tmp")
  mv "$db.tmp" "$db"
fi

[[ ${1:-} == --install ]] && exit 0 # only govulncheck and the database (.ci/run, in the background)

echo "Go toolchain: $(go version) (stdlib vulnerabilities are judged against it; the Makefile pins GOTOOLCHAIN)"
status=0
if (($#)); then
  for dir in "$@"; do
    echo "==> govulncheck $dir"
    GOWORK=off "$bin" -db "file://$db" -C "$dir" ./... || status=1
  done
  exit $status
fi
for dir in $(go list -m -f '{{.Dir}}'); do
  echo "==> govulncheck ${dir#"$PWD"/}"
  "$bin" -db "file://$db" -C "$dir" ./... || status=1
done
if ((status)); then
  echo "govulncheck found vulnerable code paths: upgrade the module (go get MODULE@FIXED) or the Go toolchain (GOTOOLCHAIN in the Makefile) named above" >&2
fi
exit $status
