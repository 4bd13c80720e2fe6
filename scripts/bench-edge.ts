#!/usr/bin/env -S npx tsx
/**
 * `make bench-edge`: the latency the edge's security middlewares add, on the running stack.
 * Prints measured figures; asserts nothing.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../services/errors.js';
import { benchEdge } from './runners/bench/bench-edge.js';
import { abortOnSignals, parseCli, runMain } from './runners/core/cli.js';
import { loadConfig } from './runners/gen/gen.js';
import { createProgress } from './runners/core/progress.js';
import { defaultTarget } from './runners/stack/stack.js';
import { engineOf } from './runners/clients/engine-of.js';
import { statePath, writeFileAtomic } from './runners/core/state.js';

const HELP = `
Usage: node --import tsx scripts/bench-edge.ts [--rate N] [--seconds S]   (make bench-edge)

Needs the stack running (make up). GET /static/style.css at --rate requests/s (default 200) for
--seconds (default 20) through three paths, each warmed first:
  bare   a router on the operators' entrypoint without router middlewares (sent in turn with full)
  full   the same router with every users' middleware (rate limit, color strip, headers, body limit)
  users  the users' path: the front (HAProxy, PROXY protocol) from 250 loopback addresses
p50/p95/p99 of each; "middlewares added at p95" is full − bare. The bench routers are a file in
Traefik's watched directory, removed at the end and on Ctrl-C. Figures: .parity/bench/edge.json.
`;

await runMain(async () => {
  const { values } = parseCli(process.argv.slice(2), { rate: { type: 'string' }, seconds: { type: 'string' } }, HELP);
  const rate = Number(values.rate ?? 200);
  const seconds = Number(values.seconds ?? 20);
  if (!Number.isInteger(rate) || rate < 1 || rate > 2000) throw new UsageError(`--rate: expected a whole number of requests per second from 1 to 2000, got "${values.rate}"`);
  if (!Number.isInteger(seconds) || seconds < 1) throw new UsageError(`--seconds: expected whole seconds ≥ 1, got "${values.seconds}"`);
  const progress = createProgress('[bench]');
  const config = await loadConfig();
  const target = defaultTarget();
  const signal = abortOnSignals(progress, 'stopping the benchmark; its routers are removed');
  const result = await benchEdge({
    stateDir: target.stateDir,
    operatorsUrl: await engineOf(target).httpsEndpoint(),
    usersUrl: `https://localhost:${config.ports.https}`,
    ca: await readFile(statePath('ca', 'parity-ca.pem'), 'utf8'),
    rate,
    seconds,
    progress,
    signal,
  });
  const line = (name: string, f: typeof result.bare) =>
    `  ${name.padEnd(7)} ${String(f.ok).padStart(5)}/${f.sent} ok   p50 ${f.p50Ms.toFixed(2)} ms   p95 ${f.p95Ms.toFixed(2)} ms   p99 ${f.p99Ms.toFixed(2)} ms${Object.keys(f.other).length ? `   other: ${JSON.stringify(f.other)}` : ''}`;
  process.stdout.write(
    [
      `edge middlewares at ${rate} req/s for ${seconds} s (GET /static/style.css):`,
      line('bare', result.bare),
      line('full', result.full),
      line('users', result.users),
      `  middlewares added at p95: ${result.middlewareP95Ms.toFixed(2)} ms (goal < 2 ms); the front's hop and PROXY header: ${(result.users.p95Ms - result.full.p95Ms).toFixed(2)} ms`,
      '',
    ].join('\n'),
  );
  await writeFileAtomic(statePath('bench', 'edge.json'), `${JSON.stringify(result, null, 2)}\n`);
});
