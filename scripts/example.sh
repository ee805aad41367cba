#!/usr/bin/env bash
# The main job on the bundled example, from a fresh machine: install, generate the values of
# every lifecycle step, render the chart offline with the Helm SDK and validate what it renders.
#   scripts/example.sh [CONFIG] [ENV] [CRD_DIR...]   (defaults: examples/config.yml prod, ../shared CRDs)
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-examples/config.yml}"
env="${2:-prod}"
out="out/example"

scripts/setup.sh runtime
rv=.venv/bin/ranker-values

# gen validates first and prints each warning once (a separate validate printed them twice)
"$rv" gen "$config" --env "$env" --out "$out/values"

# Validate FlinkDeployments against the operator CRDs: the CRD_DIR arguments (the operator chart's
# crds/ folder), else ../shared's when at hand.
crds=()
for dir in "${@:3}"; do
  crds+=(--crds "$dir")
done
if [ "${#crds[@]}" -eq 0 ]; then
  for dir in ../shared/crds/flink-kubernetes-operator/*/; do
    [ -d "$dir" ] && crds+=(--crds "${dir%/}")
  done
fi

for step in bootstrap train upload api update; do
  echo "== $step"
  "$rv" render -f "values/$env.yaml" -f "$out/values/$step.yaml" --out "$out/manifests/$step.yaml" "${crds[@]}"
done
echo "values in $out/values, manifests in $out/manifests"
