# Skybound API server. Build: docker build -t skybound .
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    SKYBOUND_HOST=0.0.0.0 \
    SKYBOUND_PORT=8080 \
    SKYBOUND_HOME=/var/lib/skybound

RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /home/skybound --uid 10001 skybound \
    && mkdir -p /var/lib/skybound && chown skybound /var/lib/skybound

WORKDIR /app
COPY pyproject.toml README.md ./
COPY server ./server
COPY devtools ./devtools
COPY handlers ./handlers
COPY streams ./streams
COPY sync ./sync
COPY api ./api
COPY domain ./domain
COPY adapters ./adapters
COPY foundation ./foundation
RUN pip install .

USER skybound
EXPOSE 8080
VOLUME ["/var/lib/skybound"]

HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${SKYBOUND_PORT}/healthz" || exit 1

# Without DATABASE_URL the container runs its own embedded PostgreSQL in the volume.
CMD ["skybound", "serve"]
