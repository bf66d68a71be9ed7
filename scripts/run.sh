#!/usr/bin/env bash
# `make run`: the web app and a real Celery worker with its beat, each in its own process
# group, supervised here. Ctrl-C (SIGINT), SIGTERM or the end of either process stops both:
# SIGTERM to each group (warm shutdown), then SIGKILL of whatever is left after 20 s, so no
# process outlives this script.
set -uo pipefail
VENV=${VENV:-.venv}
PORT=${PORT:-5000}
VAR=${PORTAL_VAR_DIR:-$PWD/var}
set -m  # background jobs get their own process group

"$VENV/bin/celery" -A portal.worker worker --beat -Q default,edi,afas,cdap --concurrency 2 \
  --loglevel INFO --schedule "$VAR/celerybeat-schedule" &
worker=$!
"$VENV/bin/flask" --app portal run --host 127.0.0.1 --port "$PORT" &
web=$!

stopping=0
stop() {
  [ "$stopping" = 1 ] && return
  stopping=1
  trap '' INT TERM
  echo "Arrêt du serveur web et du worker ($(date +%T))…" >&2
  kill -TERM "$web" "$worker" 2>/dev/null  # the group leaders shut their children down
  for _ in $(seq 1 100); do
    kill -0 -- "-$web" 2>/dev/null || kill -0 -- "-$worker" 2>/dev/null || break
    sleep 0.2
  done
  for group in "$web" "$worker"; do
    if kill -0 -- "-$group" 2>/dev/null; then
      echo "Processus encore actifs dans le groupe $group après 20 s : arrêt forcé." >&2
      kill -KILL -- "-$group" 2>/dev/null
    fi
  done
  wait 2>/dev/null
  # The last connection to close a SQLite database in WAL mode folds the log back and deletes
  # its -wal/-shm files: open and close each one once, so none outlives a clean stop.
  for database in "$VAR"/*.sqlite; do
    [ -e "$database" ] || continue
    "$VENV/bin/python" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
c.close()' "$database" 2>/dev/null || echo "Base $database : point de contrôle WAL impossible." >&2
  done
  echo "Arrêté ($(date +%T))." >&2
}
trap 'stop; exit 0' INT  # Ctrl-C is the normal way to stop
trap 'stop; exit 143' TERM

# Returns when either process ends (e.g. the port is taken) or a signal arrives.
wait -n "$web" "$worker"
status=$?
stop
exit "$status"
