#!/usr/bin/env bash
# Make sure PostgreSQL and MariaDB answer on 127.0.0.1 for the tests: start them when
# installed but stopped, install them (Debian packages) when missing. Idempotent.
set -euo pipefail

log() { printf 'ensure-servers: %s\n' "$*"; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
wait_for() { # wait_for NAME CMD...
  local name=$1; shift
  for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && { log "$name is up"; return 0; }; sleep 1; done
  log "$name did not come up"; return 1
}
pg_up() { psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; }
my_up() { mysql -uroot -h127.0.0.1 -P3306 -e 'select 1' >/dev/null 2>&1; }

if ! pg_up; then
  if ! command -v pg_ctlcluster >/dev/null; then
    log "installing PostgreSQL"; apt_install postgresql postgresql-client
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    # test servers only: trust loopback connections, like the machine the project was built on
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  wait_for PostgreSQL pg_up
else
  log "PostgreSQL is up"
fi

if ! my_up; then
  if [ ! -x /usr/sbin/mariadbd ] && ! command -v mysqld >/dev/null; then
    log "installing MariaDB"; apt_install mariadb-server mariadb-client
  fi
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql >/dev/null 2>&1 \
    || start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_for "MariaDB socket" mysql -uroot -e 'select 1'
  # test servers only: root over TCP from loopback without a password
  mysql -uroot -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;" || true
  wait_for MariaDB my_up
else
  log "MariaDB is up"
fi
