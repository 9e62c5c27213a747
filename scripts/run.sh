#!/usr/bin/env bash
# Start the web app, a Celery worker and beat on the embedded defaults; Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-o2c.settings.local}"

$BIN/python manage.py migrate --noinput
$BIN/python manage.py seed_demo
# months of decided holds for the triage models, then a version of each trained on them
$BIN/python manage.py seed_triage_history
$BIN/python manage.py train_models || true
$BIN/python manage.py refresh_kpis

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "Stopping o2c..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop INT TERM EXIT

$BIN/python manage.py sandbox --port 8100 &
pids+=($!)
for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/8100) 2>/dev/null && break; sleep 0.2; done
# First load in the order a real one takes: master data, then stock; orders follow on the schedule.
$BIN/python manage.py sync_connector sandbox-erp --stream customers --stream items --stream prices --stream ar || true
$BIN/python manage.py sync_connector sandbox-wms --stream inventory || true
# The sandbox EDI buyer trades as a sandbox customer: set up once its master data is here.
$BIN/python manage.py seed_edi_partner || true

# Two workers, so a long pull never waits in front of invoicing, the outbox or cash: one for
# ingestion and the nightly KPI/model work, one for the desk's own queues (o2c/queues.py).
$BIN/celery -A o2c worker --loglevel=info --concurrency=1 --queues=ingest,kpis \
  --hostname="o2c-ingest@%h" &
pids+=($!)
$BIN/celery -A o2c worker --loglevel=info --concurrency=2 --queues=billing,outbox,receivables,notify,default \
  --hostname="o2c-worker@%h" &
pids+=($!)
$BIN/celery -A o2c beat --loglevel=info --schedule=data/celerybeat-schedule &
pids+=($!)
$BIN/python manage.py runserver 127.0.0.1:8000 &
pids+=($!)

echo
echo "o2c is running at http://127.0.0.1:8000/ (log in with a login listed above)."
echo "The sandbox ERP/WMS at http://127.0.0.1:8100 feeds a couple of new orders a minute, and its"
echo "EDI buyer drops an X12 850 a minute in data/edi/sandbox-buyer/in. Ctrl-C stops it all."
wait -n "${pids[@]}"
