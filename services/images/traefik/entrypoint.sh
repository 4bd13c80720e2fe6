#!/bin/sh
# Upstream traefik image's entrypoint: flags go to traefik, subcommands too, anything else runs as is.
set -e
if [ "${1#-}" != "$1" ]; then
  set -- traefik "$@"
fi
if traefik "$1" --help >/dev/null 2>&1; then
  set -- traefik "$@"
else
  echo "= '$1' is not a Traefik command: assuming shell execution." 1>&2
fi
exec "$@"
