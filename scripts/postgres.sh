#!/usr/bin/env bash
# A local PostgreSQL for the @streamvisor/cluster PG suite (and CI).
#
#   scripts/postgres.sh start   start the Debian cluster (installing `postgresql` with apt-get if
#                               pg_ctlcluster is missing), create role + database, print the URL
#   scripts/postgres.sh url     print the URL if the server answers, else exit 1
#   scripts/postgres.sh stop    stop the cluster
#
# Use: export STREAMVISOR_PG_URL="$(scripts/postgres.sh start)" && pnpm exec vitest run packages/cluster
# Everything but the URL goes to stderr; on failure it says why and exits non-zero.
# Needs root (pg_ctlcluster, su postgres). Loopback only; the password is a fixed test value.
set -euo pipefail

ROLE=streamvisor
PASSWORD=streamvisor
DATABASE=streamvisor
HOST=127.0.0.1

fail() { echo "postgres.sh: $*" >&2; exit 1; }
note() { echo "postgres.sh: $*" >&2; }

[ "$(id -u)" = 0 ] || fail "needs root (pg_ctlcluster and 'su postgres'); running as $(id -un)"

ensure_installed() {
  command -v pg_ctlcluster >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || fail "pg_ctlcluster is missing and there is no apt-get to install postgresql"
  note "pg_ctlcluster is missing: apt-get install -y postgresql (may take a minute)"
  local started=$SECONDS
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 \
    || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; } \
    || fail "apt-get install postgresql failed"
  note "installed postgresql in $((SECONDS - started)) s"
  command -v pg_ctlcluster >/dev/null 2>&1 || fail "postgresql installed but pg_ctlcluster is still missing"
}

# The first cluster pg_lsclusters lists: "version name port status ...".
cluster() {
  local line
  line=$(pg_lsclusters --no-header 2>/dev/null | head -n 1) || true
  [ -n "$line" ] || fail "no PostgreSQL cluster (pg_lsclusters lists none); create one with pg_createcluster"
  echo "$line"
}

url() {
  local port=$1
  echo "postgres://$ROLE:$PASSWORD@$HOST:$port/$DATABASE"
}

psql_admin() { su postgres -c "psql -v ON_ERROR_STOP=1 -q -X -p $1 -d postgres" >&2; }

case "${1:-}" in
  start)
    ensure_installed
    read -r version name port status _ <<<"$(cluster)"
    if [ "$status" != online ]; then
      started=$SECONDS
      pg_ctlcluster "$version" "$name" start >&2 || fail "pg_ctlcluster $version $name start failed (see /var/log/postgresql/)"
      note "started cluster $version/$name on port $port in $((SECONDS - started)) s"
    fi
    for _ in $(seq 1 50); do
      pg_isready -q -h "$HOST" -p "$port" && break
      sleep 0.2
    done
    pg_isready -q -h "$HOST" -p "$port" || fail "cluster $version/$name does not answer on $HOST:$port after 10 s"
    psql_admin "$port" <<SQL || fail "could not create role $ROLE / database $DATABASE"
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD';
  END IF;
END \$\$;
SELECT 'CREATE DATABASE $DATABASE OWNER $ROLE' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DATABASE')
\gexec
SQL
    url "$port"
    ;;
  url)
    command -v pg_lsclusters >/dev/null 2>&1 || fail "PostgreSQL is not installed"
    read -r _ _ port status _ <<<"$(cluster)"
    [ "$status" = online ] || fail "the cluster is $status; run: scripts/postgres.sh start"
    url "$port"
    ;;
  stop)
    command -v pg_ctlcluster >/dev/null 2>&1 || fail "PostgreSQL is not installed"
    read -r version name _ status _ <<<"$(cluster)"
    if [ "$status" = online ]; then pg_ctlcluster "$version" "$name" stop >&2; fi
    note "cluster $version/$name stopped"
    ;;
  *)
    fail "usage: scripts/postgres.sh start|stop|url"
    ;;
esac
