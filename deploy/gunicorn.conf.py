"""gunicorn settings for the o2c web app, read with ``gunicorn -c deploy/gunicorn.conf.py o2c.wsgi``.

Every value can be overridden from the environment, so the container image, the compose file and
the CI smoke test start the same server with different sizes."""

import multiprocessing
import os

# Behind a proxy or a container port mapping; O2C_BIND=127.0.0.1:8000 for a bare host.
bind = os.environ.get("O2C_BIND", "0.0.0.0:8000")
# The desk's pages are short, SQL-bound requests: sync workers, two per core plus one, capped so a
# large host does not open more database connections than PostgreSQL allows.
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 9)))
worker_class = "sync"
# Longer than the slowest legitimate request (a CSV export of a large queue), short enough that
# a stuck worker is replaced before a load balancer gives up on the instance.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak in a library never grows without bound; the jitter
# keeps them from all restarting at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = 200
# Logs go to stdout/stderr for the container runtime to collect.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The proxy in front terminates TLS and sets X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
