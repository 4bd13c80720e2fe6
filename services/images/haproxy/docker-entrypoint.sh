#!/bin/sh
# The official haproxy image's entrypoint.
set -e
if [ "${1#-}" != "$1" ]; then
  set -- haproxy "$@"
fi
if [ "$1" = 'haproxy' ]; then
  shift
  # -W: master-worker (reload with SIGUSR2); -db: stay in the foreground.
  set -- haproxy -W -db "$@"
fi
exec "$@"
