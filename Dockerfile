# The ranker-values image the chart's tune stage runs (`ranker-values tune` / `tune-worker`).
# Build from the repository root:  docker build -t ghcr.io/ranker-project/ranker-values:0.1.0 .
# (the chart's default stages.tune.image; the workflow's image job pushes it on the release tag v0.1.0)
# Only the `tune` extra goes in: xgboost 1.6.1 (the version Metarank 0.4.1 loads models with; its
# wheel vendors libgomp), numpy 1.26, pika, boto3, matplotlib. Pin the base by digest in your
# registry mirror (`FROM python:3.11.11-slim-bookworm@sha256:…`); the tag is the pin here.
FROM python:3.11.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ranker_values ./ranker_values
COPY schemas ./schemas
# the chart rides in the wheel (render/plan outside a clone; pyproject's force-include)
COPY charts/ranker ./charts/ranker
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 MPLCONFIGDIR=/tmp/matplotlib
# uid/gid 9999: the chart runs every ranker pod (podSecurityContext) as 9999, the Metarank image's
# flink user; the tune pods use the same values, so this image's user has that uid too.
RUN groupadd --gid 9999 ranker && useradd --uid 9999 --gid 9999 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ranker
COPY --from=build /wheels /wheels
RUN python -m pip install "$(ls /wheels/ranker_values-*.whl)[tune]" && rm -rf /wheels \
    && python -m compileall -q "$(python -c 'import ranker_values, os; print(os.path.dirname(ranker_values.__file__))')"
USER 9999:9999
WORKDIR /tmp
ENTRYPOINT ["ranker-values"]
CMD ["--help"]
