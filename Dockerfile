# Skybound API server.   docker build -t skybound .   (server/deploy/README.md)
#
# Stage 1 builds the wheel and installs it, with every extra a documented setting needs
# (`supabase` for SKYBOUND_STORAGE_BACKEND=supabase and strict GoTrue verification,
# `observability` for SENTRY_DSN and OTEL_EXPORTER_OTLP_ENDPOINT), into a virtualenv.
# Stage 2 is the slim runtime: that virtualenv and nothing else of the build.
# tests/test_container.py builds the same wheel and runs it in a fresh virtualenv.
FROM python:3.11.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
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
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv /opt/skybound \
    && /opt/skybound/bin/pip install "$(ls /wheels/skybound-*.whl)[supabase,observability]"

FROM python:3.11.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/skybound/bin:$PATH \
    SKYBOUND_HOST=0.0.0.0 \
    SKYBOUND_PORT=8080 \
    SKYBOUND_HOME=/var/lib/skybound
RUN useradd --system --no-create-home --home-dir /var/lib/skybound --uid 10001 skybound \
    && mkdir -p /var/lib/skybound \
    && chown skybound /var/lib/skybound
COPY --from=build /opt/skybound /opt/skybound
WORKDIR /var/lib/skybound
USER 10001
EXPOSE 8080
VOLUME ["/var/lib/skybound"]

# No curl in the image: the interpreter asks /healthz itself.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SKYBOUND_PORT', '8080'), timeout=2)"]

# SIGTERM reaches `skybound serve` (PID 1, exec form): it stops accepting, tells stream
# clients to reconnect elsewhere (SSE retry, WebSocket 1012) and gives each worker 10 s
# (aiohttp's shutdown timeout) within the pool's 30 s bound before it kills a straggler.
# Give the container at least 40 s: `docker stop -t 40`, compose's stop_grace_period.
STOPSIGNAL SIGTERM
# Without DATABASE_URL the container runs its own embedded PostgreSQL in the volume.
CMD ["skybound", "serve"]
