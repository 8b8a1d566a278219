# syntax=docker/dockerfile:1
# Build: docker build -t retention-audit .
# Run:   docker run -p 8000:8000 -e DATABASE_URL=postgresql+psycopg://user@db/retention retention-audit
# Without DATABASE_URL it serves the SQLite default in /data (mount a volume there).

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
COPY models ./models
RUN python -m pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RETENTION_AUDIT_DATA_DIR=/data \
    RETENTION_AUDIT_ALEMBIC_DIR=/app/alembic \
    NUMBA_CACHE_DIR=/data/.numba-cache \
    PORT=8000
RUN groupadd --system app && useradd --system --gid app --home /app app \
    && mkdir -p /app /data && chown app:app /data
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
COPY alembic ./alembic
COPY alembic.ini docker/entrypoint.sh docker/healthcheck.py ./
USER app
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "/app/healthcheck.py"]
ENTRYPOINT ["/app/entrypoint.sh"]
