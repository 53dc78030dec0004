# The live producer: `python -m producer` (= `foot-traffic produce`), configured by environment variables.
# Untested here (no Docker engine in the development sandbox); see README for the settings.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY sim ./sim
COPY producer ./producer
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    REDIS_HOST=redis \
    METRICS_PORT=9108
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin producer
USER producer
WORKDIR /home/producer
EXPOSE 9108
# Healthy = /metrics answers and the last Redis write succeeded.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "producer.live.health"]
# SIGTERM: the producer writes what is due and exits 0 within a few seconds.
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "producer"]
