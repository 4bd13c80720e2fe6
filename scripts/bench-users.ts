#!/usr/bin/env -S npx tsx
/**
 * `make bench-users`: users through the front at growing rates (kept-alive and fresh TLS
 * connections, many client addresses), with the peak memory of every container on their path
 * against its limit, restarts and OOM kills. Prints measured figures; asserts nothing.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../services/errors.js';
import { benchUsers, usersPathServices, type UsersStep } from './runners/bench/bench-users.js';
import { abortOnSignals, parseCli, runMain } from './runners/core/cli.js';
import { loadConfig } from './runners/gen/gen.js';
import { createProgress } from './runners/core/progress.js';
import { defaultTarget } from './runners/stack/stack.js';
import { statePath, writeFileAtomic } from './runners/core/state.js';
import { usersBase } from './runners/drill/users.js';

const HELP = `
Usage: node --import tsx scripts/bench-users.ts [--rates 50,100,200,500] [--seconds 20] [--addresses 250] [--mode both|keep-alive|fresh] [--paths /,/api/events,/api/articles]
       (make bench-users RATES= DURATION= ADDRESSES= MODE= PATHS=)

Needs the stack running (make up). For each mode and rate: GET the paths in turn through the
front (the users' https port) at that rate, each request from one of --addresses loopback client
addresses (127.0.3.1 …), on kept-alive connections ("keep-alive": browsers) or a new TLS
connection per request ("fresh": many users arriving). Per step: answers by status, p50/p95/p99,
and the peak memory of the front, Traefik, Toxiproxy, auth and the active color's apps against
their limits (cgroup), with any restart or OOM kill. Figures: .parity/bench/users.json.
`;

const numbers = (text: string, what: string, max: number): number[] => {
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < 1 || v > max)) throw new UsageError(`${what}: expected whole numbers from 1 to ${max}, comma-separated, got "${text}"`);
  return values;
};

await runMain(async () => {
  const { values } = parseCli(process.argv.slice(2), { rates: { type: 'string' }, seconds: { type: 'string' }, addresses: { type: 'string' }, mode: { type: 'string' }, paths: { type: 'string' } }, HELP);
  const rates = numbers(values.rates ?? '50,100,200,500', '--rates', 2000);
  const [seconds] = numbers(values.seconds ?? '20', '--seconds', 3600);
  const [addresses] = numbers(values.addresses ?? '250', '--addresses', 2500);
  const mode = values.mode ?? 'both';
  if (!['both', 'keep-alive', 'fresh'].includes(mode)) throw new UsageError(`--mode: expected both, keep-alive or fresh, got "${mode}"`);
  const paths = (values.paths ?? '/,/api/events,/api/articles').split(',');
  if (paths.some((p) => !p.startsWith('/'))) throw new UsageError(`--paths: expected paths starting with /, comma-separated, got "${values.paths}"`);
  const progress = createProgress('[bench]');
  const config = await loadConfig();
  const target = defaultTarget();
  const signal = abortOnSignals(progress, 'stopping the benchmark after this step');
  const steps: UsersStep[] = await benchUsers({
    target,
    base: usersBase(config),
    ca: await readFile(statePath('ca', 'parity-ca.pem'), 'utf8'),
    rates,
    seconds: seconds!,
    addresses: addresses!,
    modes: mode === 'both' ? ['keep-alive', 'fresh'] : [mode as UsersStep['mode']],
    paths,
    services: await usersPathServices(target, config),
    progress,
    signal,
  });
  progress.done();
  await writeFileAtomic(statePath('bench', 'users.json'), `${JSON.stringify({ at: new Date().toISOString(), paths, steps }, null, 2)}\n`);
});
