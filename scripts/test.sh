#!/usr/bin/env bash
# Install everything the tests need (idempotent) and run the whole suite.
# A cold first run builds the chart toolchain from the Go module proxy (minutes); later runs reuse it.
# Extra arguments go to pytest, e.g. scripts/test.sh -k chart -x
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test || exit 1
# The chart toolchain (Helm 3 and 4 CLIs, helm-unittest, kubeconform + schemas, ct) in .tools/.
scripts/tools.sh || exit 1
# The engine: Metarank 0.4.1 built from ../shared/engine (+ Java 11), for the `engine` tests.
if [ -d "${RANKER_SHARED:-../shared}/engine" ]; then
  scripts/engine.sh || exit 1
else
  echo "scripts/test.sh: ../shared/engine is missing: the engine tests will skip (fail under CI)" >&2
fi

# Precompile so subprocess-based tests and start-up checks do not pay for compilation.
.venv/bin/python -m compileall -q ranker_values >/dev/null

.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  # pytest's "no tests collected": a suite that runs nothing is a broken suite, not a pass.
  echo "scripts/test.sh: pytest collected no tests (exit 5); treating as a failure" >&2
  exit 1
fi
exit "$rc"
