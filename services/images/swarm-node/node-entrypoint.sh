#!/bin/sh
# moby's hack/dind, the parts this host needs: securityfs for AppArmor checks and a fresh /tmp.
set -eu
if [ -d /sys/kernel/security ] && ! mountpoint -q /sys/kernel/security; then
  mount -t securityfs none /sys/kernel/security || echo "node: could not mount securityfs (AppArmor checks may warn)" >&2
fi
if ! mountpoint -q /tmp; then mount -t tmpfs none /tmp; fi
# A node killed and started again keeps its writable layer: the engine's pid files would stop it.
rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
# The engine's socket goes where the runner can reach it (a bind-mounted folder), and its config
# (address pools, cgroup parent, registry) comes from the runner.
exec dockerd --config-file /etc/parity-node/daemon.json "$@"
