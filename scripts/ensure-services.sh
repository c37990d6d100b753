#!/usr/bin/env bash
# Make sure Redis (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432, database `test`, trust auth for the
# local test user) answer. Starts a stopped server; installs one with the system package manager when it
# is absent. Prints one line per service and exits non-zero, naming the service, when one cannot be had.
set -uo pipefail

REDIS_PORT="${ARB_TEST_REDIS_PORT:-6379}"
PG_PORT="${ARB_TEST_PG_PORT:-5432}"
PG_DB="${ARB_TEST_PG_DB:-test}"

answers() { # host port -> 0 when something accepts a TCP connection
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }

apt_install() {
  if command -v apt-get >/dev/null 2>&1; then
    echo "   installing $* with apt-get"
    sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 \
      || { sudo_ apt-get update -q >/dev/null 2>&1 && sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1; }
  elif command -v dnf >/dev/null 2>&1; then sudo_ dnf install -y -q "$@" >/dev/null 2>&1
  elif command -v brew >/dev/null 2>&1; then brew install "$@" >/dev/null 2>&1
  else return 1; fi
}

wait_for() { # host port seconds
  for _ in $(seq 1 $(( $3 * 10 ))); do answers "$1" "$2" && return 0; sleep 0.1; done
  return 1
}

ensure_redis() {
  if answers 127.0.0.1 "$REDIS_PORT"; then echo "redis: answering on 127.0.0.1:$REDIS_PORT"; return 0; fi
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server || apt_install redis
  if ! command -v redis-server >/dev/null 2>&1; then echo "redis: not installed and could not be installed" >&2; return 1; fi
  mkdir -p /tmp/arb-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /tmp/arb-redis --logfile /tmp/arb-redis/redis.log >/dev/null
  if wait_for 127.0.0.1 "$REDIS_PORT" 10; then echo "redis: started on 127.0.0.1:$REDIS_PORT"; return 0; fi
  echo "redis: started but does not answer on 127.0.0.1:$REDIS_PORT (see /tmp/arb-redis/redis.log)" >&2
  return 1
}

pg_start() {
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    for v in $(ls /etc/postgresql); do
      sudo_ pg_ctlcluster --skip-systemctl-redirect "$v" main start >/dev/null 2>&1 || true
    done
  elif command -v pg_ctl >/dev/null 2>&1 && [ -n "${PGDATA:-}" ]; then
    pg_ctl -D "$PGDATA" -l /tmp/arb-pg.log start >/dev/null 2>&1 || true
  fi
}

pg_trust_local() { # a freshly installed cluster asks for passwords on 127.0.0.1: trust it for tests
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    [ -f "$hba" ] || continue
    if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
      sudo_ sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
      for v in $(ls /etc/postgresql); do sudo_ pg_ctlcluster --skip-systemctl-redirect "$v" main reload >/dev/null 2>&1 || true; done
    fi
  done
}

ensure_postgres() {
  if ! answers 127.0.0.1 "$PG_PORT"; then
    pg_start
    if ! wait_for 127.0.0.1 "$PG_PORT" 10; then
      apt_install postgresql || true
      pg_trust_local
      pg_start
      wait_for 127.0.0.1 "$PG_PORT" 20 || { echo "postgres: does not answer on 127.0.0.1:$PG_PORT after start/install" >&2; return 1; }
    fi
    echo "postgres: started on 127.0.0.1:$PG_PORT"
  else
    echo "postgres: answering on 127.0.0.1:$PG_PORT"
  fi
  if command -v psql >/dev/null 2>&1; then
    if ! psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$PG_DB" -Atc 'select 1' >/dev/null 2>&1; then
      pg_trust_local
      psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atc "create database \"$PG_DB\"" >/dev/null 2>&1 \
        || su postgres -c "psql -Atc 'create database \"$PG_DB\"'" >/dev/null 2>&1 || true
      psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$PG_DB" -Atc 'select 1' >/dev/null 2>&1 \
        || { echo "postgres: database '$PG_DB' is not reachable as user postgres on 127.0.0.1:$PG_PORT" >&2; return 1; }
      echo "postgres: database '$PG_DB' ready"
    fi
  fi
}

rc=0
ensure_redis || rc=1
ensure_postgres || rc=1
exit $rc
