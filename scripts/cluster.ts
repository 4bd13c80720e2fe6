#!/usr/bin/env -S npx tsx
/** `make cluster-up | cluster-down | cluster-status`: the stack on a local multi-node Docker Swarm. */
import { formatDuration, UsageError } from '../services/errors.js';
import { parseNodeCount } from '../services/topology/cluster.js';
import { abortOnSignals, parseCli, runMain } from './runners/core/cli.js';
import { createProgress } from './runners/core/progress.js';
import { loadConfig } from './runners/gen/gen.js';
import { defaultTarget } from './runners/stack/stack.js';
import { clusterDown, clusterStatus, clusterUp, formatClusterStatus } from './runners/cluster/cluster.js';

const HELP = `
Usage: npx tsx scripts/cluster.ts <command> [options]      (make cluster-up | cluster-down | cluster-status)

Commands:
  up       N docker-in-docker Swarm nodes (Debian's docker.io), one per zone (zone-a, zone-b,
           zone-c), all managers; the images the stack needs loaded into each node; then
           docker stack deploy of compose/stack.yaml (apps 2 replicas spread over the zones,
           Traefik on every node, stateful services pinned to a zone) and the front on the host
           in front of the nodes. Waits until every service runs its replicas; on a timeout
           names the services still waiting with their tasks' errors and last log lines (exit 1).
           A re-run starts only what is missing. Refused while the one-engine stack (make up)
           is running: they share the users' ports.
  down     remove the front, the nodes and their volumes (the nodes' engines, images and the
           tasks' data), the cluster's network, cgroups and state; says what it removed
  status   nodes (zone, status, manager), each service's replicas running/desired and the zones
           its tasks run in, the front

Options:
  --nodes N          up: 1 to 3 (default 3; also NODES=N)
  --timeout SECONDS  up: how long the stack may take to converge (default 300)
  -h, --help         show this help
Config: parity.yaml (or PARITY_CONFIG); state: .parity (or PARITY_STATE_DIR).
`;

await runMain(async () => {
  const { values, positionals } = parseCli(process.argv.slice(2), { nodes: { type: 'string' }, timeout: { type: 'string' } }, HELP);
  const [command] = positionals;
  const config = await loadConfig();
  const target = defaultTarget();
  const progress = createProgress('[cluster]');
  switch (command) {
    case 'up': {
      const nodes = parseNodeCount(values.nodes ?? process.env.NODES);
      if (typeof nodes === 'string') throw new UsageError(nodes);
      const seconds = values.timeout === undefined ? 300 : Number(values.timeout);
      if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--timeout ${values.timeout}: expected a number of seconds above 0`);
      const signal = abortOnSignals(progress, 'cluster-up (make cluster-down removes what was started)');
      const result = await clusterUp(config, target, { nodes, progress, timeoutMs: seconds * 1000, signal });
      progress.info(`cluster up in ${formatDuration(result.elapsedMs)} (${Object.entries(result.phases).map(([phase, ms]) => `${phase} ${formatDuration(ms)}`).join(', ')})`);
      const status = await clusterStatus(config, target);
      if (status) console.log(formatClusterStatus(status));
      return;
    }
    case 'down': {
      const removed = await clusterDown(config, target, progress);
      progress.info(removed.length ? `removed ${removed.join('; ')}` : 'no cluster was there: nothing to remove');
      return;
    }
    case 'status': {
      const status = await clusterStatus(config, target);
      console.log(status ? formatClusterStatus(status) : 'no cluster is running (make cluster-up NODES=3 starts one)');
      return;
    }
    default:
      throw new UsageError(`${command ? `unknown command "${command}"` : 'no command'}: expected up, down or status (--help for more)`);
  }
});
