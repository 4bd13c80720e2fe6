#!/usr/bin/env -S npx tsx
/** `make regions`, `make dr-link STATE=cut|mend`, `make failback`: the two regions of a stack with dr.enabled. */
import { join } from 'node:path';
import { DrillInputError, formatDuration, UsageError } from '../services/errors.js';
import { hasDr, LINK_PORTS, type Region } from '../services/topology/region.js';
import { abortOnSignals, parseCli, runMain } from './runners/core/cli.js';
import { loadConfig } from './runners/gen/gen.js';
import { adminLogin } from './runners/clients/platform.js';
import { createClient } from './runners/core/http.js';
import { waitUntil } from './runners/drill/moments.js';
import { createProgress } from './runners/core/progress.js';
import { describeRegions, failBackToPrimary, linkApi, regionTarget, regionTargets } from './runners/dr/region-ops.js';
import { defaultTarget } from './runners/stack/stack.js';
import { engineOf } from './runners/clients/engine-of.js';
import { setProxyEnabled } from './runners/clients/toxiproxy.js';

const HELP = `
Usage: npx tsx scripts/region.ts status | cut | mend | failback
       (make regions, make dr-link STATE=cut|mend, make failback)

With dr.enabled in parity.yaml:
  status     which region the edge serves, each region's Patroni cluster (leader or standby
             leader, replicas), and whether the link's paths are open
  cut        cut the link between the regions (replication and the off-site repository): the DR
             standby stops receiving WAL and the primary's archive waits (WalArchiveStalled fires
             after backup.alerts.walAgeSeconds); users are not affected
  mend       open the link again: the standby catches up, the archive drains
  failback   while the DR region serves (after make drill-region --no-failback or an interrupted
             drill): rebuild the primary's database from DR, demote DR, promote the primary and
             move users back through the edge; never leaves two writable regions

Exit codes: 0 done; 1 a step failed (the message says where it stopped); 2 no DR region or the
stack is not up.
`;

const LINK_PATHS = Object.keys(LINK_PORTS);

await runMain(async () => {
  const { positionals } = parseCli(process.argv.slice(2), {}, HELP);
  const [command, ...rest] = positionals;
  if (!command || !['status', 'cut', 'mend', 'failback'].includes(command) || rest.length) throw new UsageError(`expected one of status, cut, mend, failback (got ${positionals.join(' ') || 'nothing'}); see --help`);
  const config = await loadConfig();
  if (!hasDr(config)) throw new DrillInputError('no DR region in this config: set dr.enabled: true in parity.yaml (with backup.enabled), then make up');
  const targets = regionTargets(defaultTarget());
  const progress = createProgress('[regions]');
  const api = await linkApi(targets);
  if (command === 'cut' || command === 'mend') {
    for (const path of LINK_PATHS) await setProxyEnabled(api, path, command === 'mend');
    progress.info(`link ${command === 'cut' ? 'cut' : 'open again'}: ${LINK_PATHS.join(', ')}`);
    return;
  }
  if (command === 'failback') {
    const signal = abortOnSignals(progress, 'stopping at the next safe step');
    const started = Date.now();
    const http = createClient(join(targets.primary.stateDir, 'ca', 'parity-ca.pem'));
    const base = async (region: Region) => engineOf(regionTarget(targets, region)).httpsEndpoint();
    const writes = async (region: Region) => (await adminLogin(http, await base(region), targets.primary.stateDir, 3000).catch(() => undefined))?.answer.status === 200;
    const run = { options: { progress, signal } };
    await failBackToPrimary(targets, config, {
      wait: (subject, condition, timeoutMs, intervalMs) => waitUntil(run, subject, condition, timeoutMs, intervalMs),
      moment: (name) => progress.info(`${formatDuration(Date.now() - started).padStart(7)}  ${name}`),
      reads: async (region) => (await http(`${await base(region)}/api/events?limit=1`, { timeoutMs: 2000 }).catch(() => undefined))?.status === 200,
      writes,
    });
    progress.info(`failed back: the primary region serves, the DR region is its standby again (${formatDuration(Date.now() - started)})`);
    return;
  }
  const lines = await describeRegions(targets.primary, config);
  process.stdout.write(`${lines.join('\n')}\n`);
});
