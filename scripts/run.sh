#!/usr/bin/env bash
# Start the web app, a Celery worker and beat on the embedded defaults; Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-o2c.settings.local}"

$BIN/python manage.py migrate --noinput
$BIN/python manage.py seed_demo

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "Stopping o2c..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop INT TERM EXIT

$BIN/celery -A o2c worker --loglevel=info --concurrency=2 --hostname="o2c-worker@%h" &
pids+=($!)
$BIN/celery -A o2c beat --loglevel=info --schedule=data/celerybeat-schedule &
pids+=($!)
$BIN/python manage.py runserver 127.0.0.1:8000 &
pids+=($!)

echo
echo "o2c is running at http://127.0.0.1:8000/ (log in with a login listed above). Ctrl-C stops it."
wait -n "${pids[@]}"
