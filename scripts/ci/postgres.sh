#!/usr/bin/env bash
# Makes the PostgreSQL servers the test suites use ready, creating only what is missing (a second run changes
# nothing). Runs as root on a Debian machine with PostgreSQL installed (postgresql-common's pg_* tools):
#   - the shared server: cluster "main" on port 5432, used by every PostgreSQL test;
#   - the restart cluster: "passerelle_restart" on port 5499, which test/e2e/store-pg-restart.test.ts restarts
#     in the middle of a sync. It is a server of its own so that its restarts never reach the other tests.
# On each: the cluster exists and runs, the role postgres logs in without a password over 127.0.0.1 (the tests'
# URLs are postgres://postgres@127.0.0.1:<port>/test), and the database test exists.
# PASSERELLE_PG_CLUSTER, PASSERELLE_PG_PORT, PASSERELLE_PG_RESTART_CLUSTER and PASSERELLE_PG_RESTART_PORT
# change the names and ports (the script's own test points them at throw-away clusters).
set -euo pipefail

MAIN=${PASSERELLE_PG_CLUSTER:-main}
MAIN_PORT=${PASSERELLE_PG_PORT:-5432}
RESTART=${PASSERELLE_PG_RESTART_CLUSTER:-passerelle_restart}
RESTART_PORT=${PASSERELLE_PG_RESTART_PORT:-5499}
MARK="# passerelle tests: the role postgres connects over loopback without a password"

say() { echo "== postgres: $*"; }
die() {
  echo "scripts/ci/postgres.sh: $*" >&2
  exit 1
}

# "<version> <port> <status>" of the cluster named $1 (status: online or down), nothing when there is none.
cluster_info() { pg_lsclusters --no-header | awk -v n="$1" '$2 == n { print $1, $3, $4; exit }'; }

# Over TCP as the tests connect; -w: never prompt for a password.
as_tests() { psql "host=127.0.0.1 port=$1 user=postgres dbname=postgres connect_timeout=5" -X -w -Atq -c "$2"; }

# Over the Unix socket as the cluster's owner (peer authentication), which works before any TCP rule does.
as_owner() { runuser -u postgres -- psql -p "$1" -d postgres -X -Atq -v ON_ERROR_STOP=1 -c "$2"; }

ensure() {
  local name=$1 port=$2 info version actual status hba
  info=$(cluster_info "$name")
  if [ -z "$info" ]; then
    version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n1)
    [ -n "$version" ] || die "no PostgreSQL server is installed (apt-get install postgresql)"
    say "creating cluster $version/$name on port $port"
    pg_createcluster --port "$port" "$version" "$name" >/dev/null
    info=$(cluster_info "$name")
  fi
  read -r version actual status <<<"$info"
  [ "$actual" = "$port" ] || die "cluster $version/$name listens on port $actual; the tests expect $port"
  case $status in
    online*) ;;
    *)
      say "starting $version/$name"
      pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start
      ;;
  esac
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 1
  done
  pg_isready -q -h 127.0.0.1 -p "$port" || die "$version/$name does not answer on 127.0.0.1:$port"

  if [ -z "$(as_owner "$port" "select 1 from pg_roles where rolname = 'postgres'")" ]; then
    say "creating role postgres in $version/$name"
    as_owner "$port" "create role postgres login superuser"
  fi
  if ! as_tests "$port" "select 1" >/dev/null 2>&1; then
    # pg_hba.conf is read top down and the first matching line wins: ours goes first.
    hba=$(as_owner "$port" "show hba_file")
    say "letting postgres in over 127.0.0.1 without a password ($hba)"
    grep -qxF "$MARK" "$hba" ||
      printf '%s\nhost all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust\n\n%s\n' \
        "$MARK" "$(cat "$hba")" >"$hba"
    as_owner "$port" "select pg_reload_conf()" >/dev/null
    as_tests "$port" "select 1" >/dev/null || die "postgres still cannot connect to 127.0.0.1:$port; see $hba"
  fi
  if [ -z "$(as_tests "$port" "select 1 from pg_database where datname = 'test'")" ]; then
    say "creating database test in $version/$name"
    as_tests "$port" "create database test"
  fi
  say "$version/$name ready: postgres://postgres@127.0.0.1:$port/test"
}

command -v pg_lsclusters >/dev/null || die "pg_lsclusters not found: PostgreSQL (postgresql-common) is not installed"
ensure "$MAIN" "$MAIN_PORT"
ensure "$RESTART" "$RESTART_PORT"
