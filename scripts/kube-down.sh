#!/usr/bin/env bash
# Stops what scripts/kube-up.sh started, by the PIDs it recorded (reverse start order).
#   --purge   also delete the state folder (etcd data, certificates, logs)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${RANKER_TOOLS_DIR:-$root/.tools}"
case "$tools" in /*) ;; *) tools="$root/$tools" ;; esac
state="${RANKER_KUBE_DIR:-$tools/kube}"
pids="$state/pids"

for name in flink-operator kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
  f="$pids/$name.pid"
  [ -f "$f" ] || continue
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    printf 'kube-down: stopped %s (pid %s)\n' "$name" "$pid" >&2
  fi
  rm -f "$f"
done
if [ "${1:-}" = "--purge" ]; then
  rm -rf "$state"
fi
