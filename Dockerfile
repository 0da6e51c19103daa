# syntax=docker/dockerfile:1
# The Kompensasi worker image: `docker build -t kompensasi .` from the repository root.
# Run: `docker run --rm -e KOMPENSASI_BROKER=kafka://kafka:9092 -p 6066:6066 kompensasi`
# (settings: the KOMPENSASI_* variables of streams/settings.py; the shipped policies are inside
# the package, an office mounts its own folder and sets KOMPENSASI_POLICIES).
ARG PYTHON_IMAGE=python:3.11-slim

# ---- builder: wheels of the project and its dependencies, installed into a venv -------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY oversight/ oversight/
COPY rules/ rules/
COPY schemas/ schemas/
COPY streams/ streams/
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip wheel --wheel-dir /wheels . \
 && /opt/venv/bin/pip install --no-index --find-links /wheels kompensasi \
 && /opt/venv/bin/kompensasi --help > /dev/null

# ---- final: the venv only, run as an unprivileged user --------------------------------------
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="kompensasi" \
      org.opencontainers.image.description="Event-time compensation decisions for Indonesian immigration office queues, on Kafka"
RUN groupadd --system --gid 10001 kompensasi \
 && useradd --system --uid 10001 --gid kompensasi --home-dir /app --no-create-home \
            --shell /usr/sbin/nologin kompensasi \
 && mkdir -p /app /var/lib/kompensasi \
 && chown kompensasi:kompensasi /app /var/lib/kompensasi
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    KOMPENSASI_WEB_HOST=0.0.0.0 \
    KOMPENSASI_DATA_DIR=/var/lib/kompensasi
WORKDIR /app
# Numeric, so Kubernetes' runAsNonRoot can verify it (it is the user `kompensasi`).
USER 10001:10001
EXPOSE 6066
# /ready: 200 once the worker has joined the group and restored its tables, 503 before (slim has
# no curl; urlopen raises on 503 and on a refused connection, so the exit status is 1).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('KOMPENSASI_WEB_PORT', '6066') + '/ready', timeout=4)"]
ENTRYPOINT ["kompensasi"]
CMD ["worker"]
