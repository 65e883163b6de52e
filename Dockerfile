# Octopost container image. Builds with plain `docker build` (no BuildKit-only syntax)
# and with `docker compose build`; no "# syntax=" line, which would pull a frontend image.
#   docker build -t octopost .                       # python:3.12-slim from Docker Hub
#   docker build --build-arg BASE=local/debian-python:bookworm -t octopost .   # a local base
# Any base with python3 (3.11+, with venv) on PATH and useradd works.
ARG BASE=python:3.12-slim

FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
WORKDIR /src
# Dependencies first, in their own layer: a code change does not download them again.
COPY pyproject.toml ./
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && /opt/venv/bin/pip install --quiet -r requirements.txt
COPY README.md LICENSE ./
COPY octopost ./octopost
# Runtime only: no test or dev extras; pip is not needed to run, so the final venv goes
# without it (setuptools stays: a dependency imports its pkg_resources).
RUN /opt/venv/bin/pip install --quiet --no-deps . \
 && /opt/venv/bin/pip uninstall --quiet --yes pip \
 && /opt/venv/bin/python -c "import octopost.app, uvloop, httptools"

FROM ${BASE}
LABEL org.opencontainers.image.title="Octopost" \
      org.opencontainers.image.description="Self-hosted cross-posting service: one post, many social platforms, one REST API." \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /opt/venv /opt/venv
# A fixed uid, so a bind-mounted data directory can be chowned to it (10001:10001).
RUN groupadd --system --gid 10001 octopost \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin octopost \
 && mkdir -p /data && chown octopost:octopost /data && chmod 0700 /data
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OCTOPOST_SERVER_HOST=0.0.0.0 \
    OCTOPOST_SERVER_PORT=8000 \
    OCTOPOST_DATABASE_PATH=/data/octopost.db
# The database, secret.key and the pre-migration copies; a named volume gets the
# ownership above on first use.
VOLUME ["/data"]
WORKDIR /data
USER octopost
EXPOSE 8000
# `octopost healthcheck` is a GET of /healthz in Python: the image has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["octopost", "healthcheck"]
# Exec form: Octopost is PID 1 and gets SIGTERM itself, so `docker stop` is a clean
# shutdown (in-flight publishes get server.shutdown_grace seconds, exit code 0).
ENTRYPOINT ["octopost"]
CMD ["serve"]
