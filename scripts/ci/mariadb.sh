#!/usr/bin/env bash
# Makes the MariaDB server the test suites use ready, creating only what is missing (a second run changes
# nothing and takes well under a second). Runs as root on a Debian machine:
#   - MariaDB answers on 127.0.0.1:3306 (installed with apt when missing, started when nothing answers; the
#     same server the WooCommerce kit's setup.sh uses);
#   - root logs in over TCP from 127.0.0.1 with an empty password (the tests' URLs are
#     mysql://root@127.0.0.1:3306/<their own database>);
#   - the database test exists.
# PASSERELLE_MARIADB_PORT changes the port.
set -euo pipefail

PORT=${PASSERELLE_MARIADB_PORT:-3306}

say() { echo "== mariadb: $*"; }
die() {
  echo "scripts/ci/mariadb.sh: $*" >&2
  exit 1
}

# Over TCP as the tests connect.
as_tests() { mariadb --protocol=tcp -h 127.0.0.1 -P "$PORT" -uroot --connect-timeout=5 -N -B -e "$1"; }
# Over the Unix socket as the system's root (unix_socket authentication), which works before any TCP account does.
as_owner() { mariadb -uroot -N -B -e "$1"; }
ping_tcp() { mariadb-admin --protocol=tcp -h 127.0.0.1 -P "$PORT" --connect-timeout=2 ping >/dev/null 2>&1; }

if ! command -v mariadb >/dev/null || ! command -v mysqld_safe >/dev/null; then
  say "installing mariadb-server"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mariadb-server mariadb-client
fi

if ! ping_tcp; then
  say "starting MariaDB"
  if [ -x /etc/init.d/mariadb ]; then
    /etc/init.d/mariadb start >/dev/null
  else
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    (setsid mysqld_safe --bind-address=127.0.0.1 --port="$PORT" >/dev/null 2>&1 &)
  fi
  for _ in $(seq 1 60); do
    ping_tcp && break
    sleep 0.5
  done
  ping_tcp || die "MariaDB does not answer on 127.0.0.1:$PORT"
fi

if ! as_tests "select 1" >/dev/null 2>&1; then
  say "letting root in over 127.0.0.1 without a password"
  as_owner "create user if not exists 'root'@'127.0.0.1' identified by '';
    grant all privileges on *.* to 'root'@'127.0.0.1' with grant option; flush privileges" ||
    die "cannot reach MariaDB as root over its socket to create root@127.0.0.1"
  as_tests "select 1" >/dev/null || die "root still cannot log in over 127.0.0.1:$PORT"
fi

if [ -z "$(as_tests "show databases like 'test'")" ]; then
  say "creating database test"
  as_tests "create database test"
fi
say "$(as_tests "select version()") ready: mysql://root@127.0.0.1:$PORT/test"
