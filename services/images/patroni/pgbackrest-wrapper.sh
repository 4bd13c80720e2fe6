#!/usr/bin/env bash
# /usr/local/bin/pgbackrest, ahead of Debian's /usr/bin/pgbackrest on PATH: every caller
# (Postgres's archive_command and restore_command, the backup agent, `docker exec … pgbackrest`)
# gets the repository's secrets from the mounted secret files, never from the container's
# configuration, where `docker inspect` would show them. A variable already set wins.
set -Eeo pipefail
dir="${PARITY_SECRETS_DIR:-/run/secrets}"
load() { # load VARIABLE FILE
  if [ -z "${!1:-}" ] && [ -r "$dir/$2" ]; then export "$1"="$(< "$dir/$2")"; fi
}
load PGBACKREST_REPO1_S3_KEY s3_access_key
load PGBACKREST_REPO1_S3_KEY_SECRET s3_secret_key
load PGBACKREST_REPO1_CIPHER_PASS backup_cipher_pass
exec /usr/bin/pgbackrest "$@"
