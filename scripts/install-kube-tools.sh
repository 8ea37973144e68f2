#!/usr/bin/env bash
# Builds the Kubernetes toolchain the chart tests use into the user's cache:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/goshop/kube-tools-v<kube>/
#     bin/  etcd kube-apiserver kube-controller-manager kube-scheduler kubectl
#           helm helm-unittest kwok controller-gen
#     kwok-stages.yaml   kwok's "fast" stages (pods become Ready, Job pods Succeed)
#     crds/              ServiceMonitor, PrometheusRule and KEDA CRDs
#
# Everything comes from the Go module proxy (no GitHub downloads here):
# the control plane from tools/kube (a build-only module pinning
# k8s.io/kubernetes and the etcd server it is tested with), the rest with
# `go install`/`go build` at pinned versions. (Debian's etcd 3.4 is too old
# for kube-apiserver 1.37: its watch cache needs progress notifications.)
#
# Each part carries a stamp (its version and the Go version); a run that finds
# every stamp current does nothing. Cold: ~10 min on 2 idle cores (the control
# plane ~6 min, 2.4 GB peak RAM), ~8 GB of module and build cache.
set -euo pipefail

KUBE_VERSION=v1.37.2
HELM_VERSION=v3.22.0
HELM_UNITTEST_VERSION=v1.1.2
KWOK_VERSION=v0.8.0
CONTROLLER_GEN_VERSION=v0.23.0
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

control_plane() {
  local want sum
  sum=$(sha256sum "$SRC/go.sum" | cut -d' ' -f1)
  want="kube=$KUBE_VERSION go=$GO_VERSION go_sum=$sum"
  current control-plane "$want" && return
  need_free_mb 6000 "the Kubernetes build needs ~5 GB of modules and build cache"
  local pkg=k8s.io/component-base/version
  build control-plane "kube-apiserver, kube-controller-manager, kube-scheduler, kubectl $KUBE_VERSION (~6 min cold on 2 idle cores, 2.4 GB RAM)" "$SRC" \
    go build -trimpath -ldflags "-s -w -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=37" -o "$BIN/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
  build etcd "etcd (the version tools/kube pins; ~30 s cold)" "$SRC" \
    go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3
  "$BIN/kube-apiserver" --version | grep -q "$KUBE_VERSION" || die "$BIN/kube-apiserver does not report $KUBE_VERSION."
  "$BIN/etcd" --version >/dev/null || die "$BIN/etcd does not run."
  stamp control-plane "$want"
}

helm_tools() {
  local want="helm=$HELM_VERSION go=$GO_VERSION"
  if ! current helm "$want"; then
    build helm "helm $HELM_VERSION (~90 s cold)" / env GOBIN="$BIN" \
      go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
    stamp helm "$want"
  fi
  want="helm-unittest=$HELM_UNITTEST_VERSION go=$GO_VERSION"
  if ! current helm-unittest "$want"; then
    # Its go.mod has a replace directive, which `go install pkg@version`
    # refuses: build it from a writable copy of the module instead.
    local src work=$HOME_DIR/src/helm-unittest
    src=$(module_dir "github.com/helm-unittest/helm-unittest@$HELM_UNITTEST_VERSION")
    [[ -d $src ]] || die "could not download helm-unittest $HELM_UNITTEST_VERSION from the Go module proxy."
    rm -rf "$work" && mkdir -p "$(dirname "$work")" && cp -r "$src" "$work" && chmod -R u+w "$work"
    build helm-unittest "helm-unittest $HELM_UNITTEST_VERSION (~35 s cold)" "$work" \
      go build -trimpath -ldflags "-s -w" -o "$BIN/helm-unittest" ./cmd/helm-unittest
    rm -rf "$work"
    stamp helm-unittest "$want"
  fi
}

kwok() {
  local want="kwok=$KWOK_VERSION kube=$KUBE_VERSION go=$GO_VERSION"
  current kwok "$want" && return
  build kwok "kwok $KWOK_VERSION (fake nodes for the scheduler; ~1 min cold)" / env GOBIN="$BIN" \
    go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  local src
  src=$(module_dir "sigs.k8s.io/kwok@$KWOK_VERSION")
  "$BIN/kubectl" kustomize "$src/kustomize/stage/fast" >"$HOME_DIR/kwok-stages.yaml" ||
    die "kubectl kustomize of kwok's fast stages failed ($src/kustomize/stage/fast)."
  stamp kwok "$want"
}

crds() {
  local want="controller-gen=$CONTROLLER_GEN_VERSION prometheus-operator=$PROM_OPERATOR_VERSION keda=$KEDA_VERSION go=$GO_VERSION"
  current crds "$want" && return
  build controller-gen "controller-gen $CONTROLLER_GEN_VERSION (~1 min cold)" / env GOBIN="$BIN" \
    go install -trimpath -ldflags "-s -w" "sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_GEN_VERSION"
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

control_plane
helm_tools
kwok
crds
say "Kubernetes tools ready in $HOME_DIR ($(elapsed)): $(cd "$BIN" && echo *)"
