#!/usr/bin/env bash
# Patroni's bootstrap.post_bootstrap: runs once, on the node that initialised the cluster, with
# a superuser connection URL as $1. Creates POSTGRES_DB (when set and not "postgres") and runs
# /docker-entrypoint-initdb.d/*.sql and *.sh in it, like the official postgres image.
set -Eeo pipefail
url="$1"
psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc)
db="${POSTGRES_DB:-postgres}"
if [ "$db" != 'postgres' ]; then
  "${psql[@]}" --dbname "$url" --set db="$db" <<<'CREATE DATABASE :"db";'
fi
# The same connection in POSTGRES_DB: Patroni passes a URL; a key=value string takes a later dbname.
case "$url" in
  *://*) dburl="$(python3 -c 'import sys; from urllib.parse import urlsplit, urlunsplit
parts = urlsplit(sys.argv[1]); print(urlunsplit(parts._replace(path="/" + sys.argv[2])))' "$url" "$db")" ;;
  *) dburl="$url dbname='$db'" ;;
esac
echo "post-bootstrap: database $db ready"
shopt -s nullglob
for f in /docker-entrypoint-initdb.d/*; do
  case "$f" in
    *.sql) echo "post-bootstrap: running $f"; "${psql[@]}" --dbname "$dburl" -f "$f" ;;
    *.sh) echo "post-bootstrap: running $f"; DATABASE_URL="$dburl" bash "$f" ;;
    *) echo "post-bootstrap: ignoring $f" ;;
  esac
done
