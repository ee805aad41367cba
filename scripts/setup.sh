#!/usr/bin/env bash
# Install what ranker needs into ./.venv (idempotent). Usage: scripts/setup.sh [runtime|test|tune]
#   runtime: the CLI with its operational extras (render, savepoint, plan, check)
#   test:    + test tools, redis-server and gpg (Debian) and checkov in its own venv (.venv-checkov,
#            because checkov pins its own boto3/packaging)
#            + .venv-tune and rabbitmq-server (Debian) for the tune tests (issue 12)
#   tune:    .venv-tune only: the tune extra (xgboost 1.6.1, the version Metarank 0.4.1 loads
#            models with) cannot share a venv with the ops extra's xgboost-cpu 3.x
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-runtime}"
python="${PYTHON:-python3}"

PIP_VERSION=26.3  # pip itself is pinned too
# constraints/<venv>.txt pin every package of each venv to the versions the suite was last green
# with (pip freeze of that venv); upgrades are deliberate commits that regenerate them.

# venv DIR CONSTRAINTS PIP-ARGS...: create DIR if needed, then install exactly the pinned versions
# (pip does nothing when they are already there).
venv() {
  local dir="$1" pins="$2"; shift 2
  [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet "pip==$PIP_VERSION"
  "$dir/bin/python" -m pip install --quiet -c "$pins" "$@"
}

# debian PACKAGE PROGRAM: install a Debian package the tests need when PROGRAM is missing.
debian() {
  [ -x "$2" ] || command -v "$2" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" != "0" ]; then
    echo "$1 is missing: install it (Debian: sudo apt-get install $1)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

case "$profile" in
  runtime) venv .venv constraints/main.txt -e '.[ops]' ;;
  test)    venv .venv constraints/main.txt -e '.[test]'
           # checkov pins its own boto3/packaging: its own venv
           venv .venv-checkov constraints/checkov.txt 'checkov==3.3.30'
           debian redis-server redis-server
           debian rabbitmq-server /usr/lib/rabbitmq/bin/rabbitmq-server
           # gpg: the chart's provenance tests sign with a throwaway key (helm package --sign)
           debian gpg gpg ;;
  tune)    ;;
  *)       echo "usage: scripts/setup.sh [runtime|test|tune]" >&2; exit 2 ;;
esac
# tune (issue 12): its own venv, because xgboost 1.6.1 and the ops extra's xgboost-cpu 3.x share
# the import name xgboost.
if [ "$profile" = "tune" ] || [ "$profile" = "test" ]; then
  venv .venv-tune constraints/tune.txt -e '.[tune]'
fi
