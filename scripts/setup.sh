#!/usr/bin/env bash
# Install what ranker needs into ./.venv (idempotent). Usage: scripts/setup.sh [runtime|test]
#   runtime: the CLI with its operational extras (render, savepoint, plan, check)
#   test:    + test tools, redis-server (Debian) and checkov in its own venv (.venv-checkov,
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
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet "pip==$PIP_VERSION"
if [ "$profile" = "test" ]; then
  .venv/bin/python -m pip install --quiet -c constraints/main.txt -e '.[test]'
else
  .venv/bin/python -m pip install --quiet -c constraints/main.txt -e '.[ops]'
fi

if [ "$profile" = "test" ]; then
  if [ ! -x .venv-checkov/bin/checkov ]; then
    "$python" -m venv .venv-checkov
    .venv-checkov/bin/python -m pip install --quiet "pip==$PIP_VERSION"
    .venv-checkov/bin/python -m pip install --quiet -c constraints/checkov.txt 'checkov==3.3.30'
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ]; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    else
      echo "redis-server is missing: install it (Debian: sudo apt-get install redis-server)" >&2
      exit 1
    fi
  fi
fi

# tune (issue 12): its own venv, because xgboost 1.6.1 and the ops extra's xgboost-cpu 3.x share
# the import name xgboost.
if [ "$profile" = "tune" ] || [ "$profile" = "test" ]; then
  if [ ! -x .venv-tune/bin/python ]; then
    "$python" -m venv .venv-tune
  fi
  .venv-tune/bin/python -m pip install --quiet "pip==$PIP_VERSION"
  .venv-tune/bin/python -m pip install --quiet -c constraints/tune.txt -e '.[tune]'
fi
if [ "$profile" = "test" ] && ! [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
  else
    echo "rabbitmq-server is missing: install it (Debian: sudo apt-get install rabbitmq-server)" >&2
    exit 1
  fi
fi
