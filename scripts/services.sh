#!/usr/bin/env bash
# Makes sure the real services the tests talk to are running: PostgreSQL on 127.0.0.1:5432
# (trust auth, database `test`), Redis on 127.0.0.1:6379, MariaDB 3306, RabbitMQ 5672, Mosquitto
# 1883, NATS with JetStream 4222, and that prometheus and moto_server are installed. Installs them with apt-get when
# missing. Prints what it did; exits non-zero, naming the package, when it cannot.
set -euo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_up() { for _ in $(seq 100); do up "$1" && return 0; sleep 0.1; done; return 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  echo "services: installing $*"
  as_root apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! up 5432; then
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then apt_install postgresql; fi
  echo "services: starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  wait_up 5432 || { echo "services: PostgreSQL will not start on 127.0.0.1:5432 (apt-get install postgresql)"; exit 1; }
fi
# Trust auth for local TCP and a `test` database, as on the development machines.
if ! psql -h 127.0.0.1 -U postgres -d test -qtAc 'select 1' >/dev/null 2>&1; then
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf 2>/dev/null | head -1 || true)
  if [ -n "$hba" ] && ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main reload || true
  fi
  psql -h 127.0.0.1 -U postgres -qtAc 'create database test' >/dev/null 2>&1 || true
fi
psql -h 127.0.0.1 -U postgres -d test -qtAc 'select 1' >/dev/null || { echo "services: cannot use database test as postgres on 127.0.0.1"; exit 1; }

if ! up 6379; then
  command -v redis-server >/dev/null || apt_install redis-server
  echo "services: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  wait_up 6379 || { echo "services: Redis will not start on 127.0.0.1:6379 (apt-get install redis-server)"; exit 1; }
fi
echo "services: PostgreSQL and Redis are up"

# The brokers and MariaDB the probe-kind tests (tests/testsuite/probe_kinds.rs) use. This kind of machine
# starts them before a session; elsewhere they are started here, or installed when missing.
start_service() { # port, package, binary, start command...
  local port=$1 package=$2 binary=$3; shift 3
  up "$port" && return 0
  command -v "$binary" >/dev/null || apt_install "$package"
  echo "services: starting $package"
  "$@" >/dev/null 2>&1 || true
  wait_up "$port" || wait_up "$port" || { echo "services: $package will not start on 127.0.0.1:$port (apt-get install $package)"; exit 1; }
}
start_service 3306 mariadb-server mariadbd start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
start_service 5672 rabbitmq-server rabbitmq-server rabbitmq-server -detached
start_service 1883 mosquitto mosquitto mosquitto -d
start_service 4222 nats-server nats-server start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js
echo "services: MariaDB, RabbitMQ, Mosquitto and NATS are up"
# Prometheus: tests/testsuite/probe_kinds.rs starts its own on a free port, scraping itself.
command -v prometheus >/dev/null || apt_install prometheus
command -v prometheus >/dev/null || { echo "services: prometheus is missing (apt-get install prometheus)"; exit 1; }

# sshd: tests/testsuite/probe_more_kinds.rs starts its own OpenSSH sshd on a free port (its host keys in a
# temp dir) to check host-key fingerprints. Started as root it needs its privilege-separation
# directory, which systemd's RuntimeDirectory makes on a real host.
[ -x /usr/sbin/sshd ] || apt_install openssh-server
[ -x /usr/sbin/sshd ] || { echo "services: sshd is missing (apt-get install openssh-server)"; exit 1; }
if [ "$(id -u)" = 0 ]; then mkdir -p /run/sshd && chmod 755 /run/sshd; fi

# moto_server (PyPI `moto[server]`): the S3 API server tests/s3.rs starts on a free port.
if command -v moto_server >/dev/null; then
  echo "services: moto_server is installed ($(command -v moto_server))"
else
  echo "services: installing moto[server] from PyPI for the S3 tests"
  python3 -m pip install -q 'moto[server]==5.*' \
    || python3 -m pip install -q --user 'moto[server]==5.*' \
    || { echo "services: cannot install moto (python3 -m pip install 'moto[server]==5.*')"; exit 1; }
  if command -v pyenv >/dev/null; then pyenv rehash; fi
  command -v moto_server >/dev/null \
    || { echo "services: moto_server was installed but is not on PATH (add ~/.local/bin?)"; exit 1; }
  echo "services: moto_server is installed ($(command -v moto_server))"
fi
