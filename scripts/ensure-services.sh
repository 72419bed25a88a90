#!/usr/bin/env bash
# Start the local RabbitMQ, PostgreSQL and MariaDB when they are down, and say so.
# Skipped for a server whose URL the environment points elsewhere (CI, your own servers).
set -uo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local name=$1 port=$2
  for _ in $(seq 1 60); do port_open "$port" && return 0; sleep 1; done
  echo "ensure-services: $name did not come up on port $port" >&2
  return 1
}

start() {
  local name=$1 port=$2; shift 2
  if port_open "$port"; then return 0; fi
  echo "ensure-services: $name is down on 127.0.0.1:$port; starting it"
  "$@" >/dev/null 2>&1 || true
  wait_port "$name" "$port"
}

status=0
if [ -z "${TEST_POSTGRES_URL:-}" ]; then
  start PostgreSQL 5432 bash -c 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n1) main start' || status=1
fi
if [ -z "${TEST_MARIADB_URL:-}" ]; then
  start MariaDB 3306 start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || status=1
fi
if [ -z "${TEST_RABBITMQ_URL:-}" ]; then
  start RabbitMQ 5672 rabbitmq-server -detached || status=1
fi
exit $status
