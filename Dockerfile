# The live producer: `python -m producer` (= `foot-traffic produce`), configured by environment variables.
# Built and run for real by scripts/test-container.sh (see README, "The container").
#
# The base install only (no extras): the live producer (and simulate to JSONL/CSV and profile show,
# whose progress bar and tables are what rich is there for), nothing of pyarrow, matplotlib, scipy
# or pandas. Installed into a venv in the build stage; the run stage copies the venv alone, so no
# wheel, pip cache or build tool ends up in a layer of the image.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY sim ./sim
COPY producer ./producer
RUN /opt/venv/bin/pip install . \
    && /opt/venv/bin/pip uninstall -y pip setuptools \
    && find /opt/venv -name __pycache__ -prune -exec rm -rf {} +

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    REDIS_HOST=redis \
    METRICS_PORT=9108 \
    METRICS_HOST=0.0.0.0
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin producer
COPY --from=build /opt/venv /opt/venv
USER producer
WORKDIR /home/producer
EXPOSE 9108
# Healthy = /metrics answers and the last Redis write succeeded.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "producer.live.health"]
# SIGTERM: the producer writes what is due and exits 0 within a few seconds.
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "producer"]
