/**
 * What the edge's security layer costs: the same cheap request (`GET /static/style.css`) at a steady
 * rate through three paths, each request timed on its own connection pool:
 *   - bare:  a router on the operators' entrypoint with no router middleware (only the entrypoint's
 *            headers chain, which every path has);
 *   - full:  the same router with every users' middleware added (rate limit with a bucket too large to
 *            refuse, color header stripped, security headers, body limit);
 *   - users: the real users' path, through the front (HAProxy, PROXY protocol) from many loopback
 *            source addresses (so the 100/min bucket per address never refuses).
 * The two bench routers live in a file of Traefik's watched directory, removed at the end (and on
 * Ctrl-C): the stack is left as it was.
 */
import { Agent, request } from 'node:https';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { percentile } from './load.js';
import { writeFileAtomic } from './state.js';
import type { Progress } from './progress.js';

export interface EdgePathFigures {
  readonly sent: number;
  readonly ok: number;
  readonly other: Record<string, number>;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
}

export interface EdgeBenchResult {
  readonly rate: number;
  readonly seconds: number;
  readonly bare: EdgePathFigures;
  readonly full: EdgePathFigures;
  readonly users: EdgePathFigures;
  /** full − bare at p95: the users' middlewares. */
  readonly middlewareP95Ms: number;
}

export interface EdgeBenchOptions {
  readonly stateDir: string;
  readonly operatorsUrl: string;
  readonly usersUrl: string;
  readonly ca: string;
  readonly rate: number;
  readonly seconds: number;
  readonly progress: Progress;
  readonly signal?: AbortSignal;
}

const BENCH_FILE = 'bench-edge.yml';
const BENCH_HEADER = 'X-Parity-Bench';
const PATH = '/static/style.css';

function benchRouters(): object {
  const rule = (kind: string) => `Path(\`${PATH}\`) && Header(\`${BENCH_HEADER}\`, \`${kind}\`)`;
  return {
    http: {
      routers: {
        'bench-bare': { rule: rule('bare'), service: 'frontend', entryPoints: ['websecure'], tls: {}, priority: 9000 },
        'bench-full': { rule: rule('full'), service: 'frontend', entryPoints: ['websecure'], middlewares: ['bench-rate', 'strip-color', 'security-headers', 'body-default'], tls: {}, priority: 9000 },
      },
      // A real rateLimit middleware doing its bookkeeping, with a bucket no bench fills.
      middlewares: { 'bench-rate': { rateLimit: { average: 1_000_000, burst: 1_000_000, period: '1s' } } },
    },
  };
}

/** `rate` requests per second for `seconds`, each timed; `source(i)` picks the client address. */
async function paced(url: string, options: EdgeBenchOptions, headers: Record<string, string>, source: (i: number) => string): Promise<EdgePathFigures> {
  const agents = new Map<string, Agent>();
  const agentFor = (address: string) => agents.get(address) ?? agents.set(address, new Agent({ keepAlive: true, ca: options.ca, localAddress: address })).get(address)!;
  const latencies: number[] = [];
  const other: Record<string, number> = {};
  const target = new URL(url);
  const total = options.rate * options.seconds;
  const started = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total && !options.signal?.aborted; i++) {
    const address = source(i);
    pending.push(
      new Promise<void>((resolve) => {
        const sent = performance.now();
        const req = request({ host: '127.0.0.1', port: target.port, path: PATH, servername: 'localhost', headers: { host: 'localhost', ...headers }, agent: agentFor(address) }, (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) latencies.push(performance.now() - sent);
            else other[String(res.statusCode)] = (other[String(res.statusCode)] ?? 0) + 1;
            resolve();
          });
        });
        req.on('error', (error) => {
          other[error.message.slice(0, 40)] = (other[error.message.slice(0, 40)] ?? 0) + 1;
          resolve();
        });
        req.end();
      }),
    );
    const due = started + ((i + 1) * 1000) / options.rate;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
  }
  await Promise.all(pending);
  for (const agent of agents.values()) agent.destroy();
  const sorted = latencies.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return { sent: pending.length, ok: sorted.length, other, p50Ms: round(percentile(sorted, 50)), p95Ms: round(percentile(sorted, 95)), p99Ms: round(percentile(sorted, 99)) };
}

export async function benchEdge(options: EdgeBenchOptions): Promise<EdgeBenchResult> {
  const file = join(options.stateDir, 'traefik', 'dynamic', BENCH_FILE);
  await writeFileAtomic(file, stringify(benchRouters()));
  try {
    // Traefik reloads the watched directory within its throttle (500 ms); the first requests would race it.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const local = () => '127.0.0.1';
    // Warm each path's connections first, so the figures are steady state, not handshakes.
    const warm = { ...options, seconds: 1 };
    await paced(options.operatorsUrl, warm, { [BENCH_HEADER]: 'bare' }, local);
    options.progress.info(`bare router (operators' entrypoint): ${options.rate}/s for ${options.seconds} s …`);
    const bare = await paced(options.operatorsUrl, options, { [BENCH_HEADER]: 'bare' }, local);
    await paced(options.operatorsUrl, warm, { [BENCH_HEADER]: 'full' }, local);
    options.progress.info(`the users' middlewares on the same router: ${options.rate}/s for ${options.seconds} s …`);
    const full = await paced(options.operatorsUrl, options, { [BENCH_HEADER]: 'full' }, local);
    // 250 addresses × 100/min ≥ the rate: no bucket refuses.
    const spread = (i: number) => `127.0.3.${(i % 250) + 1}`;
    await paced(options.usersUrl, warm, {}, spread);
    options.progress.info(`the users' path through the front, from 250 loopback addresses: ${options.rate}/s for ${options.seconds} s …`);
    const users = await paced(options.usersUrl, options, {}, spread);
    return { rate: options.rate, seconds: options.seconds, bare, full, users, middlewareP95Ms: Math.round((full.p95Ms - bare.p95Ms) * 100) / 100 };
  } finally {
    await rm(file, { force: true });
    options.progress.info(`removed ${BENCH_FILE} from Traefik's watched directory`);
  }
}
