# syntax=docker/dockerfile:1
# The o2c image. Web (gunicorn), workers, beat and the one-off migrate step all run from it
# (compose.yaml; docs/operations.md). Build: docker build -t o2c .

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
WORKDIR /src
# Dependencies alone first, pinned exactly by constraints.txt, so a code change reuses this layer.
COPY pyproject.toml constraints.txt README.md ./
RUN /venv/bin/pip install -c constraints.txt .

FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=o2c.settings.production \
    O2C_DATA_DIR=/data \
    O2C_STATIC_ROOT=/app/staticfiles
# The processes run as o2c (uid 10001). The code and static files stay root's, so a compromised
# process cannot rewrite them; it may write only to /data (attachments, EDI folders: a volume).
RUN groupadd --system --gid 10001 o2c \
 && useradd --system --uid 10001 --gid o2c --home-dir /data --shell /usr/sbin/nologin o2c \
 && mkdir /data && chown o2c:o2c /data
COPY --from=build /venv /venv
WORKDIR /app
COPY . .

# Static files under hashed names (CompressedManifestStaticFilesStorage), collected once here so
# every container serves the same ones. Production settings refuse to load without their services;
# these placeholders only get them to load: collectstatic connects to none of them, and they live
# in this one RUN line, never in the image's environment. Real values come at run time.
RUN SECRET_KEY=build-time-placeholder-not-a-secret \
    O2C_ACCOUNT_FINGERPRINT_KEY=build-time-placeholder-not-a-secret \
    ALLOWED_HOSTS=build.invalid \
    DATABASE_URL=postgres://build@build.invalid:5432/build \
    CELERY_BROKER_URL=redis://build.invalid:6379/0 \
    EMAIL_URL=dummy:// \
    python manage.py collectstatic --noinput

USER 10001:10001
EXPOSE 8000
# Liveness: the process answers. compose.yaml probes readiness (/health/ready/) instead.
HEALTHCHECK --interval=30s --timeout=6s --start-period=30s --retries=3 \
    CMD ["python", "deploy/healthcheck.py", "/health/live/"]
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "o2c.wsgi"]
