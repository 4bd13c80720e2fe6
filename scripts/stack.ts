#!/usr/bin/env -S npx tsx
/** `make up | down | clean | status | logs`: the stack's lifecycle. */
import { contractGate } from './runners/dev/contract-gate.js';
import { formatDuration, ParityError, UsageError } from '../services/errors.js';
import { parseCli, runMain } from './runners/core/cli.js';
import { loadConfig } from './runners/gen/gen.js';
import { createProgress } from './runners/core/progress.js';
import { describeCounts, seedStack } from './runners/stack/seed.js';
import { describeFirstSteps } from './runners/stack/first-steps.js';
import { ask } from './runners/core/ask.js';
import { describeRegionClean, downRegions, startLink, upDrRegion } from './runners/stack/regions.js';
import { hasDr } from '../services/topology/region.js';
import { describeExposure } from '../services/topology/common.js';
import { describeClean, defaultTarget, downStack, formatStatusTable, readStatus, upStack } from './runners/stack/stack.js';
import { engineOf } from './runners/clients/engine-of.js';
import { cleanStack } from './runners/stack/clean.js';
import { describeRegions } from './runners/dr/region-ops.js';
import { clusterStatus, formatClusterStatus } from './runners/cluster/cluster.js';

const HELP = `
Usage: npx tsx scripts/stack.ts <command> [options]      (make up | down | clean | status | logs)

Commands:
  up       engine check, images (local/pull/build), make gen, secrets and TLS on first run,
           docker compose up, then wait for every health check with a live view; ends with a
           status table and what to open first. On an empty platform it loads the demo data
           (make seed; parity.yaml demo: false turns that off). On failure: which service,
           how long, its last 30 log lines (exit 1). A developer's own image or build
           (services.<name>.source: image | build) starts only once it passed the platform
           contract: a run on record for that image ID, else one now (make contract, ~40 s);
           one that fails stops make up before anything starts (exit 1), unless
           services.<name>.contract is warn.
  down     stop and remove the stack's containers and networks (volumes are kept)
  clean    down, plus volumes and generated state (secrets, CA, dynamic config, deploy
           state). Says what it will destroy; on a terminal it asks for "yes" first
           (--force or FORCE=1 skips the question; exit 1 when declined). Every step runs
           whatever the last one did (a network kept by a stale endpoint is disconnected
           with --force); anything of the primary, DR and link projects left at the end is
           listed with the command that removes it (exit 1)
  status   the status table (--format json for machines); with a cluster up (make cluster-up),
           its nodes, zones, services (replicas running/desired) and where their tasks run
  logs     follow the logs (optionally of one service: logs ivor-blue)

Options:
  --timeout SECONDS   up: how long to wait for health (default 240)
  --format table|json status: output format (default table)
  --force             clean: don't ask (also FORCE=1)
  -h, --help          show this help
Config: parity.yaml (or PARITY_CONFIG); state: .parity (or PARITY_STATE_DIR).
`;

await runMain(async () => {
  const { values, positionals } = parseCli(
    process.argv.slice(2),
    { timeout: { type: 'string' }, format: { type: 'string' }, force: { type: 'boolean' } },
    HELP,
  );
  const [command, ...rest] = positionals;
  const target = defaultTarget();
  const progress = createProgress('[parity]');
  switch (command) {
    case 'up': {
      const timeoutSeconds = Number(values.timeout ?? 240);
      if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new UsageError(`--timeout: expected a number of seconds, got "${values.timeout}"`);
      const config = await loadConfig();
      const dr = hasDr(config);
      const exposed = describeExposure(config);
      if (exposed.length) progress.info(`warning: reachable from other machines: ${exposed.join('; ')}`);
      const gate = contractGate(config, target.stateDir, progress);
      const result = await upStack(config, target, progress, timeoutSeconds * 1000, dr ? { beforeUp: () => startLink(target, progress), gate } : { gate });
      if (dr) await upDrRegion(config, target, progress, timeoutSeconds * 1000);
      // A first start of an empty platform gets the demo data (parity.yaml `demo: false` turns it off).
      // The stack is up either way: a seed that fails is a warning with the way to retry.
      const seeded = config.demo
        ? await seedStack(target, progress, { onlyIfEmpty: true }).catch((error: unknown) => {
            if (!(error instanceof ParityError)) throw error;
            progress.done();
            progress.info(`warning: the demo data was not loaded (${error.message.split('\n')[0]}); the stack is up: make seed retries`);
            return undefined;
          })
        : undefined;
      if (seeded?.counts) progress.info(`demo data loaded through the APIs: ${describeCounts(seeded.counts)}`);
      process.stdout.write(`\n${formatStatusTable(result.status.rows)}\n\n`);
      process.stdout.write(
        `All ${result.services} services healthy (${formatDuration(result.healthyAfterMs)} after start, ${formatDuration(result.totalMs)} in all). ` +
          `Active color: ${result.status.activeColor ?? config.activeColor}.\n` +
          `${describeFirstSteps(config, result, seeded)}\n`,
      );
      return;
    }
    case 'status': {
      const format = values.format ?? process.env.FORMAT ?? 'table';
      if (format !== 'table' && format !== 'json') throw new UsageError(`--format: expected table or json, got "${format}"`);
      const config = await loadConfig();
      const status = await readStatus(target, config);
      // With a DR region: both regions, the edge and the link (what make regions shows).
      const regions = hasDr(config) ? await describeRegions(target, config) : undefined;
      // With a cluster up (make cluster-up): its nodes, zones, services and where their tasks run.
      const cluster = await clusterStatus(config, target);
      if (format === 'json') process.stdout.write(`${JSON.stringify({ ...status, ...(regions ? { regions } : {}), ...(cluster ? { cluster } : {}) }, null, 2)}\n`);
      else {
        const last = status.deploy?.lastDeploy;
        const deployLine = status.deploy
          ? `Versions: blue ${status.deploy.colors.blue.version}, green ${status.deploy.colors.green.version}${last ? `; last deploy: ${last.version} ${last.result} at ${last.at}` : ''}${status.deploy.inProgress ? `; DEPLOY IN PROGRESS: ${status.deploy.inProgress.version} at ${status.deploy.inProgress.step}` : ''}\n`
          : '';
        process.stdout.write(
          `${formatStatusTable(status.rows)}\n${status.activeColor ? `\nActive color: ${status.activeColor} (traffic: blue ${status.weights?.blue} %, green ${status.weights?.green} %)\n` : ''}${deployLine}${regions ? `\nRegions:\n${regions.map((line) => `  ${line}`).join('\n')}\n` : ''}${cluster ? `\nCluster (make cluster-up):\n${formatClusterStatus(cluster)}\n` : ''}`,
        );
      }
      return;
    }
    case 'down':
      await downRegions(target, false);
      await downStack(target, false);
      progress.info('stack stopped; containers and networks removed, volumes kept (make clean removes them)');
      return;
    case 'clean': {
      const doomed = [...(await describeRegionClean(target)), ...(await describeClean(target))];
      if (doomed.length === 0) {
        progress.info(`nothing to clean for project ${target.project}`);
        return;
      }
      const list = doomed.map((line) => `  - ${line}`).join('\n');
      // On a terminal, a person confirms; scripts and CI (no terminal) or FORCE=1 go ahead.
      if (process.stdin.isTTY && !values.force && process.env.FORCE !== '1') {
        const answer = await ask(`make clean will destroy:\n${list}\nType "yes" to go on (FORCE=1 skips this question): `);
        if (answer.trim() !== 'yes') {
          progress.info('nothing was removed');
          process.exitCode = 1;
          return;
        }
      }
      // Every step runs whatever the one before did; what is left at the end is an error listing it (exit 1).
      await cleanStack(target, progress);
      progress.info(`removed:\n${list}`);
      return;
    }
    case 'logs':
      process.exitCode = engineOf(target).followLogs(rest);
      return;
    default:
      throw new UsageError(`unknown command "${command ?? ''}"; expected up, down, clean, status or logs\n${HELP.trim()}`);
  }
});
