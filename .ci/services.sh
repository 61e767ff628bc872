#!/usr/bin/env bash
# Installs (from Debian's apt) and starts the servers the integration tests talk to over loopback.
# Idempotent: a server already answering is left alone. Used by .ci/run and by developers.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

missing=()
[ -x /usr/bin/influxd ] || missing+=(influxdb influxdb-client)
command -v curl >/dev/null || missing+=(curl)
# The older system's devices publish with pika: the processor tests run such a device script.
/usr/bin/python3 -c 'import pika' 2>/dev/null || missing+=(python3-pika)
command -v ssh-keygen >/dev/null || missing+=(openssh-client)
# The deploy tests start their own sshd on a loopback port (tests/helpers/ssh-server.ts).
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
# A platform's login user needs sudo without a password; the deploy tests give their user that.
[ -x /usr/bin/sudo ] || missing+=(sudo)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# wait_for NAME COMMAND...: retries COMMAND for up to 60 s.
wait_for() {
  local name=$1; shift
  for _ in $(seq 1 120); do "$@" >/dev/null 2>&1 && { echo "$name: up"; return 0; }; sleep 0.5; done
  echo "$name: did not come up" >&2; return 1
}

pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
wait_for postgresql pg_isready -q -h 127.0.0.1 -p 5432

mariadb-admin -h 127.0.0.1 -u root ping >/dev/null 2>&1 || start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
wait_for mariadb mariadb-admin -h 127.0.0.1 -u root ping

rabbitmqctl -q status >/dev/null 2>&1 || rabbitmq-server -detached
wait_for rabbitmq rabbitmq-diagnostics -q check_port_connectivity
# Processor replicas each read their own stream behind an x-random exchange (as on a platform's VM).
rabbitmq-plugins -q enable rabbitmq_random_exchange >/dev/null

if ! curl -sf http://127.0.0.1:8086/ping >/dev/null; then
  # Debian's influxd has no systemd here: run it detached with its packaged config.
  mkdir -p /var/lib/influxdb /var/log/influxdb
  start-stop-daemon --start --oknodo --background --make-pidfile --pidfile /run/influxd.pid \
    --exec /usr/bin/influxd -- -config /etc/influxdb/influxdb.conf
fi
wait_for influxdb curl -sf http://127.0.0.1:8086/ping

# sshd's privilege separation directory; the deploy tests' sshd needs it (Debian's service would make it).
mkdir -p /run/sshd
