#!/usr/bin/env bash
# Builds the Kubernetes toolchain the chart tests use into the user's cache:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/goshop/kube-tools-v<kube>/
#     bin/  etcd kube-apiserver kube-controller-manager kube-scheduler kubectl
#           helm helm-unittest kwok controller-gen
#     kwok-stages.yaml   kwok's "fast" stages (pods become Ready, Job pods Succeed)
#     crds/              ServiceMonitor, PrometheusRule and KEDA CRDs
#
# Everything comes from the Go module proxy (no GitHub downloads here), and
# every binary from one module graph, tools/kube (a build-only module that
# pins k8s.io/kubernetes, the etcd server it is tested with, and helm,
# helm-unittest, kwok and controller-gen as go.mod tools): one go build
# compiles the Kubernetes libraries they all use once, at one version,
# where separate `go install pkg@version` builds compiled them four times at
# four versions. (Debian's etcd 3.4 is too old for kube-apiserver 1.37: its
# watch cache needs progress notifications.)
#
# The build carries a stamp (go.sum and the Go version); a run that finds
# every stamp current does nothing. Cold: ~8 min on 2 idle cores (2.4 GB
# peak RAM), ~7 GB of module and build cache.
set -euo pipefail

KUBE_VERSION=v1.37.2
PROM_OPERATOR_VERSION=v0.95.2
KEDA_VERSION=v2.21.0
INSTALLER=install-kube-tools

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=$ROOT/tools/kube
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/goshop
HOME_DIR=$CACHE/kube-tools-$KUBE_VERSION
BIN=$HOME_DIR/bin
# shellcheck source=scripts/lib/install.sh
source "$ROOT/scripts/lib/install.sh"

if [[ ${1:-} == --print-dir ]]; then
  echo "$HOME_DIR"
  exit 0
fi
[[ -n ${1:-} ]] && die "unknown argument '$1' (use no argument, or --print-dir)"
command -v go >/dev/null || die "go not found." "Fix: install Go >= 1.26 (see README.md)."
pin_go_toolchain
grep -q "k8s.io/kubernetes $KUBE_VERSION" "$SRC/go.mod" ||
  die "$SRC/go.mod does not require k8s.io/kubernetes $KUBE_VERSION." \
    "Fix: bump tools/kube/go.mod (require and the v0.x replaces) together with KUBE_VERSION."

mkdir -p "$CACHE"
take_install_lock kube-tools
mkdir -p "$BIN" "$HOME_DIR/logs"
GO_VERSION=$(go env GOVERSION)
export GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=mod

# current NAME WANT: true when NAME's stamp says WANT.
current() { [[ -f $HOME_DIR/.$1.stamp && $(cat "$HOME_DIR/.$1.stamp") == "$2" ]]; }
stamp() { echo "$2" >"$HOME_DIR/.$1.stamp"; }

# build NAME WHAT DIR CMD...: runs a long Go build with a heartbeat and a
# useful failure message.
build() {
  local name=$1 what=$2 dir=$3
  shift 3
  say "building $what"
  PROGRESS_NO_SIZE=1 run_with_progress "$HOME_DIR/logs/$name.log" "$dir" "$@" ||
    die "building $name failed after $(elapsed) (log: $HOME_DIR/logs/$name.log). Last lines:" \
      "$(tail -15 "$HOME_DIR/logs/$name.log")" \
      "Fix: check that the Go module proxy answers ('go env GOPROXY'), then run $0 again."
}

# module_dir MODULE@VERSION: the module's folder in the module cache.
module_dir() {
  (cd / && go mod download -json "$1") | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

# version prints the version tools/kube's go.mod selects for module $1.
version() { (cd "$SRC" && go list -m -f '{{.Version}}' "$1"); }

binaries() {
  local want sum
  sum=$(sha256sum "$SRC/go.sum" | cut -d' ' -f1)
  want="kube=$KUBE_VERSION go=$GO_VERSION go_sum=$sum"
  current binaries "$want" && return
  need_free_mb 6000 "the Kubernetes build needs ~5 GB of modules and build cache"
  local kv=k8s.io/component-base/version helm
  helm=$(version helm.sh/helm/v3)
  build binaries "kube-apiserver, kube-controller-manager, kube-scheduler, kubectl $KUBE_VERSION, helm $helm, helm-unittest, kwok, controller-gen (one build, ~7 min cold on 2 idle cores, 2.4 GB RAM)" "$SRC" \
    go build -trimpath -o "$BIN/" \
    -ldflags "-s -w -X $kv.gitVersion=$KUBE_VERSION -X $kv.gitMajor=1 -X $kv.gitMinor=37 -X helm.sh/helm/v3/internal/version.version=$helm" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl \
    helm.sh/helm/v3/cmd/helm github.com/helm-unittest/helm-unittest/cmd/helm-unittest \
    sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/controller-tools/cmd/controller-gen
  build etcd "etcd $(version go.etcd.io/etcd/server/v3) (~30 s cold)" "$SRC" \
    go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3
  "$BIN/kube-apiserver" --version | grep -q "$KUBE_VERSION" || die "$BIN/kube-apiserver does not report $KUBE_VERSION."
  "$BIN/helm" version --short | grep -q "$helm" || die "$BIN/helm does not report $helm."
  "$BIN/etcd" --version >/dev/null || die "$BIN/etcd does not run."
  local src
  src=$(cd "$SRC" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
  "$BIN/kubectl" kustomize "$src/kustomize/stage/fast" >"$HOME_DIR/kwok-stages.yaml" ||
    die "kubectl kustomize of kwok's fast stages failed ($src/kustomize/stage/fast)."
  stamp binaries "$want"
}

crds() {
  local want="controller-gen=$(version sigs.k8s.io/controller-tools) prometheus-operator=$PROM_OPERATOR_VERSION keda=$KEDA_VERSION go=$GO_VERSION"
  current crds "$want" && return
  # controller-gen reads the API types from a module that requires them.
  local gen=$HOME_DIR/src/crdgen
  rm -rf "$gen" "$HOME_DIR/crds.tmp" && mkdir -p "$gen" "$HOME_DIR/crds.tmp"
  (cd "$gen" && go mod init crdgen >/dev/null 2>&1 &&
    go get "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring@$PROM_OPERATOR_VERSION" >/dev/null 2>&1) ||
    die "could not fetch prometheus-operator's API types $PROM_OPERATOR_VERSION from the Go module proxy."
  build crds "ServiceMonitor/PrometheusRule CRDs (controller-gen)" "$gen" \
    "$BIN/controller-gen" crd:crdVersions=v1 \
    paths=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1 output:crd:dir="$HOME_DIR/crds.tmp"
  local keda
  keda=$(module_dir "github.com/kedacore/keda/v2@$KEDA_VERSION")
  [[ -d $keda/config/crd/bases ]] || die "the keda module $KEDA_VERSION has no config/crd/bases."
  cp "$keda"/config/crd/bases/*.yaml "$HOME_DIR/crds.tmp/"
  rm -rf "$HOME_DIR/crds" "$gen" && mv "$HOME_DIR/crds.tmp" "$HOME_DIR/crds"
  stamp crds "$want"
}

binaries
crds
say "Kubernetes tools ready in $HOME_DIR ($(elapsed)): $(cd "$BIN" && echo *)"
