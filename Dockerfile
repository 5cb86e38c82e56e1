# One image for web, worker, beat and the one-shot `migrate`: the command picks the role.
#
# The base is Debian's slim image with Debian's Python 3.11. `make image-check` builds
# this file on a local stand-in for that base (debootstrap + docker import); README,
# "Production shape", says what that proves and what it cannot.
FROM debian:bookworm-slim AS base
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*

# Build stage: a wheel of the project (from the whole checkout, minus .dockerignore)
# and wheels of every dependency. A TLS-intercepting proxy's CA arrives as the build
# secret `pip_cert`: mounted for this step only, never stored in a layer. pip's
# download cache is a BuildKit cache mount, so a source change does not refetch.
FROM base AS build
ARG PIP_DEFAULT_TIMEOUT=60
COPY . /src
RUN --mount=type=secret,id=pip_cert --mount=type=cache,target=/root/.cache/pip \
    if [ -s /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi \
 && python3 -m venv /opt/build \
 && /opt/build/bin/pip wheel --quiet --wheel-dir /wheels /src

# Runtime: the wheels installed into a venv owned by root; the program runs as an
# unprivileged user who can write only /data (DATA_DIR: SQLite, outbox, beat schedule).
FROM base
RUN useradd --system --user-group --uid 10001 --home-dir /data --no-create-home broadsheet \
 && mkdir /data && chown broadsheet:broadsheet /data
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python3 -m venv /opt/broadsheet \
 && /opt/broadsheet/bin/pip install --quiet --no-cache-dir --no-index --find-links=/wheels broadsheet
ENV PATH=/opt/broadsheet/bin:$PATH DATA_DIR=/data PORT=8000

USER broadsheet
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
# Only the web role answers it; compose turns it off for worker, beat and migrate.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]
CMD ["broadsheet", "web", "--host", "0.0.0.0"]
