#!/usr/bin/env bash
# kubectl port-forward that comes back: a forward ends when its pod is
# replaced, so Tilt's serve_cmd runs it in a loop.
#   tilt/scripts/port-forward.sh CONTEXT NAMESPACE TARGET LOCAL:REMOTE
set -uo pipefail
[[ $# == 4 ]] || { echo "usage: $0 CONTEXT NAMESPACE TARGET LOCAL:REMOTE" >&2; exit 2; }
while true; do
  kubectl --context "$1" --namespace "$2" port-forward "$3" "$4"
  echo "port-forward $3 $4 ended; retrying in 2 s" >&2
  sleep 2
done
