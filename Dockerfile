# Two images of ranker-values, built from the repository root:
#
#   docker build -t ghcr.io/ranker-project/ranker-values:0.1.0 .                      # tune (default)
#   docker build --target ops -t ghcr.io/ranker-project/ranker-values:0.1.0-ops .    # ops commands
#
# tune (the last stage, the default target): what the chart's tune stage runs (`ranker-values tune`
#   / `tune-worker`); the chart's default stages.tune.image, pushed by the workflow's image job on
#   the release tag v0.1.0. Only the `tune` extra goes in: xgboost 1.6.1 (the version Metarank 0.4.1
#   loads models with; its wheel vendors libgomp), numpy 1.26, pika, boto3, matplotlib.
# ops: every other command (validate, gen, render, plan, savepoint, upgrade-values, check, status)
#   with the `ops` extra: the Helm SDK, kubernetes, boto3, redis, xgboost-cpu 3.x (check reads
#   models) — for a CI job or an in-cluster Job that operates a release. The two cannot be one
#   image: xgboost 1.6.1 and xgboost-cpu 3.x have the same import name.
#
# Each installs with the constraints file its test venv is pinned to (constraints/tune.txt =
# .venv-tune, constraints/main.txt = .venv; tests/test_pinned_versions.py), so an image holds the
# versions the suite was last green with. Pin the base by digest in your registry mirror
# (`FROM python:3.11.11-slim-bookworm@sha256:…`); the tag is the pin here.
FROM python:3.11.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ranker_values ./ranker_values
COPY schemas ./schemas
# the chart rides in the wheel (render/plan outside a clone; pyproject's force-include)
COPY charts/ranker ./charts/ranker
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 MPLCONFIGDIR=/tmp/matplotlib
# uid/gid 9999: the chart runs every ranker pod (podSecurityContext) as 9999, the Metarank image's
# flink user; the tune pods use the same values, so this image's user has that uid too.
RUN groupadd --gid 9999 ranker && useradd --uid 9999 --gid 9999 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ranker
WORKDIR /tmp
ENTRYPOINT ["ranker-values"]
CMD ["--help"]

FROM runtime AS ops
COPY --from=build /wheels /wheels
COPY constraints/main.txt /wheels/constraints.txt
RUN python -m pip install -c /wheels/constraints.txt "$(ls /wheels/ranker_values-*.whl)[ops]" && rm -rf /wheels \
    && python -m compileall -q "$(python -c 'import ranker_values, os; print(os.path.dirname(ranker_values.__file__))')"
USER 9999:9999

FROM runtime AS tune
COPY --from=build /wheels /wheels
COPY constraints/tune.txt /wheels/constraints.txt
RUN python -m pip install -c /wheels/constraints.txt "$(ls /wheels/ranker_values-*.whl)[tune]" && rm -rf /wheels \
    && python -m compileall -q "$(python -c 'import ranker_values, os; print(os.path.dirname(ranker_values.__file__))')"
USER 9999:9999
