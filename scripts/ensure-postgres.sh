#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 with trust auth
# and a database named `test`, for the gateway's real-Postgres tests and
# benchmark. On a machine without PostgreSQL it installs Debian's package
# (needs root and apt), starts the cluster and opens trust auth on loopback.
# Prints the DATABASE_URL to use. Idempotent.
set -euo pipefail

URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"

ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! command -v pg_isready >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-postgres: installing postgresql from apt" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "ensure-postgres: PostgreSQL missing and cannot install it (need root + apt)" >&2
    exit 1
  fi
fi

if ! ready; then
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  if [ -z "$version" ]; then
    echo "ensure-postgres: no cluster under /etc/postgresql" >&2
    exit 1
  fi
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    # Local test server only: trust on loopback, first so it wins.
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$hba"
  fi
  echo "ensure-postgres: starting cluster $version/main" >&2
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do ready && break; sleep 1; done
  ready || { echo "ensure-postgres: server did not come up" >&2; exit 1; }
fi

if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1 from pg_database where datname='test'" | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -d postgres -qc 'create database test'
fi
echo "$URL"
