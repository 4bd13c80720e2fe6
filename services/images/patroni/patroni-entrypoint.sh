#!/usr/bin/env bash
# Starts Patroni as the postgres user: secrets from files, per-node defaults from the host name,
# a stale postmaster.pid cleared, the backup agent started when asked (PARITY_BACKUP_AGENT=1),
# then `exec patroni CONFIG` (CONFIG: $1, else $PATRONI_CONFIG).
set -Eeo pipefail

config="${1:-$PATRONI_CONFIG}"

# The data directory as Patroni will see it: PATRONI_POSTGRESQL_DATA_DIR wins over the file.
data_dir() {
  if [ -n "${PATRONI_POSTGRESQL_DATA_DIR:-}" ]; then echo "$PATRONI_POSTGRESQL_DATA_DIR"; return; fi
  python3 -c 'import sys, yaml; print((yaml.safe_load(open(sys.argv[1])) or {}).get("postgresql", {}).get("data_dir", ""))' "$config"
}

if [ ! -r "$config" ]; then
  echo >&2 "patroni-entrypoint: config file $config not found or not readable (mount one, or unset PATRONI_CONFIG for the image's default)"
  exit 2
fi
dir="$(data_dir)"

# A one-off bootstrap (failing back: an empty node that must clone the other region as a standby
# cluster) is asked for by a marker in the volume, not by the container's command: the marker names
# the config to bootstrap with, and counts only while the data directory is empty. Once the node
# has data it goes, and every later start (a restart, the next make up) runs the normal config, so
# nothing about the container differs from a normal one.
marker="$(dirname "${dir:-/var/lib/postgresql/data/pgdata}")/parity-bootstrap-config"
if [ -f "$marker" ]; then
  if [ -n "$dir" ] && [ -s "$dir/PG_VERSION" ]; then
    rm -f "$marker"
  else
    bootstrap="$(dirname "$config")/$(tr -d '[:space:]/' < "$marker")"
    if [ ! -r "$bootstrap" ]; then
      echo >&2 "patroni-entrypoint: $marker asks for $bootstrap, which is not a readable file"
      exit 2
    fi
    echo >&2 "patroni-entrypoint: empty data directory and a bootstrap marker: bootstrapping with $bootstrap"
    config="$bootstrap"
    set -- "$config" "${@:2}"
  fi
fi

if [ "$(id -u)" = '0' ]; then
  # A fresh named volume is owned by root; the data directory's parent must be postgres's.
  if [ -n "$dir" ]; then
    mkdir -p "$(dirname "$dir")"
    chown postgres:postgres "$(dirname "$dir")"
    # PostgreSQL refuses a data directory other users can read (pg_basebackup keeps the mode).
    if [ -d "$dir" ]; then find "$dir" \! -user postgres -exec chown postgres:postgres '{}' +; chmod 700 "$dir"; fi
  fi
  mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql
  exec gosu postgres "${BASH_SOURCE[0]}" "$@"
fi

# Docker secrets: PATRONI_X_FILE=/run/secrets/x sets PATRONI_X to the file's content.
while IFS= read -r var; do
  target="${var%_FILE}"
  if [ -n "${!target:-}" ]; then
    echo >&2 "patroni-entrypoint: both $target and $var are set; set only one"
    exit 2
  fi
  if [ ! -r "${!var}" ]; then
    echo >&2 "patroni-entrypoint: $var names ${!var}, which is not a readable file"
    exit 2
  fi
  export "$target"="$(< "${!var}")"
  unset "$var"
done < <(compgen -e | grep -E '^PATRONI_[A-Z0-9_]+_FILE$' || true)

# The default config takes its passwords from the environment only: say which are missing
# instead of letting bootstrap or replication fail later with an authentication error.
if [ "$config" = /etc/patroni/patroni.yml ]; then
  missing=()
  for var in PATRONI_SUPERUSER_PASSWORD PATRONI_REPLICATION_PASSWORD PATRONI_REWIND_PASSWORD; do
    [ -n "${!var:-}" ] || missing+=("$var (or ${var}_FILE)")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo >&2 "patroni-entrypoint: the default config needs: ${missing[*]}"
    exit 2
  fi
fi

# Per node: the name other members reach it by (the compose service name as host name).
export PATRONI_NAME="${PATRONI_NAME:-$(hostname)}"
export PATRONI_RESTAPI_CONNECT_ADDRESS="${PATRONI_RESTAPI_CONNECT_ADDRESS:-$PATRONI_NAME:8008}"
export PATRONI_POSTGRESQL_CONNECT_ADDRESS="${PATRONI_POSTGRESQL_CONNECT_ADDRESS:-$PATRONI_NAME:5432}"

# After a hard kill the pid file can name a PID that, in this new container, belongs to some
# other process; PostgreSQL would then refuse to start. Nothing runs PostgreSQL here yet.
if [ -n "$dir" ] && [ -s "$dir/postmaster.pid" ] && ! pgrep -x postgres >/dev/null; then
  echo >&2 "patroni-entrypoint: removing stale $dir/postmaster.pid (no postgres process runs)"
  rm -f "$dir/postmaster.pid"
fi

# The backup agent (PARITY_BACKUP_AGENT=1): scheduled pgBackRest backups and file copies on the
# leader, their figures on every node. It runs beside Patroni and stops with the container.
if [ "${PARITY_BACKUP_AGENT:-0}" = 1 ]; then
  parity-backup-agent &
fi

exec patroni "$config"
