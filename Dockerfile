# syntax=docker/dockerfile:1
# DropSpace image: `dropspace serve` by default, `dropspace worker` for the
# arq worker. compose.yaml runs both from this one image.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Stage 1: build the DropSpace wheel, and wheels of every dependency, so the
# final stage installs from local files and never needs a compiler.
FROM ${PYTHON_IMAGE} AS build

# A compiler is needed only where a dependency has no prebuilt wheel for the
# target platform; this stage is discarded, so it costs the image nothing.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir --disable-pip-version-check build

WORKDIR /src
COPY pyproject.toml README.md ./
COPY server ./server
COPY workers ./workers
COPY web ./web
RUN python -m build --wheel --outdir /dist \
    && pip wheel --no-cache-dir --disable-pip-version-check \
        --wheel-dir /wheels /dist/*.whl

# Stage 2: the runtime image, with no build tools.
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DROPSPACE_HOST=0.0.0.0 \
    DROPSPACE_PORT=8080 \
    DROPSPACE_DATA_DIR=/data

RUN groupadd --system --gid 10001 dropspace \
    && useradd --system --uid 10001 --gid dropspace \
        --home-dir /data --no-create-home --shell /usr/sbin/nologin dropspace

# The bind mount keeps the wheels out of every layer of this image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels dropspace

# /data is created and owned here, before VOLUME, so that a new named volume
# starts as a copy of it and the non-root user can write to it.
RUN mkdir /data && chown dropspace:dropspace /data
VOLUME ["/data"]
WORKDIR /data

# Numeric, so that runtimes that require a non-root user can verify it.
USER 10001:10001
EXPOSE 8080

# `python -m server.healthcheck worker` replaces this in the worker's
# container; see compose.yaml.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "server.healthcheck"]

CMD ["dropspace", "serve"]
