/**
 * What the edge's security layer costs: the same cheap request (`GET /static/style.css`) at a steady
 * rate through three paths, each request timed (bare and full in turn, in one paced loop):
 *   - bare:  a router on the operators' entrypoint with no router middleware (only the entrypoint's
 *            headers chain, which every path has);
 *   - full:  the same router with every users' middleware added (rate limit with a bucket too large to
 *            refuse, color header stripped, security headers, body limit);
 *   - users: the real users' path, through the front (HAProxy, PROXY protocol) from many loopback
 *            source addresses (a static file: `public-static`, the users' router without the
 *            default bucket; the addresses spread the load as real users would).
 * The two bench routers live in a file of Traefik's watched directory, removed at the end (and on
 * Ctrl-C): the stack is left as it was.
 */
import { Agent, request } from 'node:https';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { userAddresses } from '../core/http.js';
import { percentile } from './load.js';
import { writeFileAtomic } from '../core/state.js';
import type { Progress } from '../core/progress.js';

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

interface Lane {
  readonly url: string;
  readonly headers: Record<string, string>;
  /** The client address of the i-th request. */
  readonly source: (i: number) => string;
}

/**
 * `rate` requests per second for `seconds`, taken in turn from the lanes (so lanes sent together
 * share the machine's moments: a fair comparison on a busy 2-core host), each request timed.
 */
async function paced(lanes: readonly Lane[], options: EdgeBenchOptions): Promise<EdgePathFigures[]> {
  const agents = new Map<string, Agent>();
  const agentFor = (address: string) => agents.get(address) ?? agents.set(address, new Agent({ keepAlive: true, ca: options.ca, localAddress: address })).get(address)!;
  const results = lanes.map(() => ({ latencies: [] as number[], other: {} as Record<string, number>, sent: 0 }));
  const total = options.rate * options.seconds;
  const started = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total && !options.signal?.aborted; i++) {
    const lane = lanes[i % lanes.length]!;
    const result = results[i % lanes.length]!;
    const target = new URL(lane.url);
    const address = lane.source(Math.floor(i / lanes.length));
    result.sent += 1;
    pending.push(
      new Promise<void>((resolve) => {
        const sent = performance.now();
        const count = (what: string) => (result.other[what] = (result.other[what] ?? 0) + 1);
        const req = request({ host: '127.0.0.1', port: target.port, path: PATH, servername: 'localhost', headers: { host: 'localhost', ...lane.headers }, agent: agentFor(address) }, (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) result.latencies.push(performance.now() - sent);
            else count(String(res.statusCode));
            resolve();
          });
        });
        req.on('error', (error) => {
          count(error.message.slice(0, 40));
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
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return results.map((result) => {
    const sorted = result.latencies.sort((a, b) => a - b);
    return { sent: result.sent, ok: sorted.length, other: result.other, p50Ms: round(percentile(sorted, 50)), p95Ms: round(percentile(sorted, 95)), p99Ms: round(percentile(sorted, 99)) };
  });
}

export async function benchEdge(options: EdgeBenchOptions): Promise<EdgeBenchResult> {
  const file = join(options.stateDir, 'traefik', 'dynamic', BENCH_FILE);
  await writeFileAtomic(file, stringify(benchRouters()));
  try {
    // Traefik reloads the watched directory within its throttle (500 ms); the first requests would race it.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const local = () => '127.0.0.1';
    const bareLane: Lane = { url: options.operatorsUrl, headers: { [BENCH_HEADER]: 'bare' }, source: local };
    const fullLane: Lane = { url: options.operatorsUrl, headers: { [BENCH_HEADER]: 'full' }, source: local };
    // Static files have no bucket on `public`; 250 addresses all the same, as users would be.
    const addresses = userAddresses(250);
    const usersLane: Lane = { url: options.usersUrl, headers: {}, source: (i) => addresses[i % addresses.length]! };
    // Warm every lane's connections first, so the figures are steady state, not handshakes.
    await paced([bareLane, fullLane, usersLane], { ...options, seconds: 2 });
    options.progress.info(`bare and full routers in turn (operators' entrypoint): ${options.rate}/s in all for ${options.seconds} s …`);
    const [bare, full] = await paced([bareLane, fullLane], options);
    options.progress.info(`the users' path through the front, from 250 loopback addresses: ${options.rate}/s for ${options.seconds} s …`);
    const [users] = await paced([usersLane], options);
    return { rate: options.rate, seconds: options.seconds, bare: bare!, full: full!, users: users!, middlewareP95Ms: Math.round((full!.p95Ms - bare!.p95Ms) * 100) / 100 };
  } finally {
    await rm(file, { force: true });
    options.progress.info(`removed ${BENCH_FILE} from Traefik's watched directory`);
  }
}
