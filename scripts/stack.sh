#!/usr/bin/env bash
# Run the four services: `run` in the foreground, `up`/`down` in the background.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv/bin
# STACK_VAR_DIR lets a second stack (tests) keep its env, pid and log files apart from ./var.
VAR_DIR=${STACK_VAR_DIR:-var}
ENV_FILE=$VAR_DIR/dev.env
PID_FILE=$VAR_DIR/run/stack.pid
LOG_FILE=$VAR_DIR/log/stack.log
mkdir -p "$VAR_DIR/run" "$VAR_DIR/log"
READY_TIMEOUT=${READY_TIMEOUT:-60}
# The health port of each service (see README, Configuration).
declare -A PORTS=([api]=${API_HTTP_PORT:-8000} [dumper]=${DUMPER_HTTP_PORT:-8001} \
  [uploader]=${UPLOADER_HTTP_PORT:-8002} [catalog]=${CATALOG_HTTP_PORT:-8003})

wait_ready() {
  local deadline=$((SECONDS + READY_TIMEOUT))
  for svc in api dumper uploader catalog; do
    until curl -fsS "http://127.0.0.1:${PORTS[$svc]}/readyz" >/dev/null 2>&1; do
      if ((SECONDS > deadline)); then
        echo "stack: $svc is not ready after ${READY_TIMEOUT}s; see $LOG_FILE" >&2
        return 1
      fi
      if [ -n "${1:-}" ] && ! kill -0 "$1" 2>/dev/null; then
        echo "stack: the services exited while starting; see $LOG_FILE" >&2
        return 1
      fi
      sleep 0.5
    done
    echo "stack: $svc ready on http://127.0.0.1:${PORTS[$svc]}"
  done
}

# Every process below $1. honcho starts each service in a session of its own, so signalling
# honcho's process group alone would miss a service if honcho itself had to be killed.
descendants() {
  local children
  children=$(ps -e -o pid=,ppid= | awk -v p="$1" '$2 == p {print $1}')
  for child in $children; do echo "$child"; descendants "$child"; done
}

running_pid() {
  [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null && cat "$PID_FILE"
}

case "${1:-}" in
  run)
    echo "stack: starting api, dumper, uploader and catalog (Ctrl-C stops everything)"
    exec "$VENV/honcho" -f Procfile.run -e "$ENV_FILE" start
    ;;
  up)
    if pid=$(running_pid); then echo "stack: already up (pid $pid)"; wait_ready; exit 0; fi
    : >"$LOG_FILE"
    setsid "$VENV/honcho" -f Procfile -e "$ENV_FILE" start >>"$LOG_FILE" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
    if ! wait_ready "$(cat "$PID_FILE")"; then "$0" down; exit 1; fi
    echo "stack: up; the API listens on http://127.0.0.1:${PORTS[api]} (logs: $LOG_FILE)"
    ;;
  down)
    if pid=$(running_pid); then
      children=$(descendants "$pid")
      kill -TERM -- "-$pid" 2>/dev/null || true
      for _ in $(seq 1 30); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL -- "-$pid" 2>/dev/null || true
      for child in $children; do kill -KILL "$child" 2>/dev/null || true; done
      echo "stack: down"
    else
      echo "stack: not running"
    fi
    rm -f "$PID_FILE"
    ;;
  *)
    echo "usage: scripts/stack.sh run|up|down" >&2
    exit 2
    ;;
esac
