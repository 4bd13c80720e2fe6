/**
 * Users through the front: an open-loop load at a fixed rate, each request from one of many
 * loopback client addresses (the front sees each as a client of its own, with its own rate-limit
 * bucket), either on kept-alive connections (a browser's) or a new TLS connection per request (many
 * users arriving). Every answer is kept with its time, path and status; nothing is asserted.
 */
import { Agent, request } from 'node:https';
import { percentile } from './load.js';
import { userAddresses } from '../core/http.js';

export interface UsersLoadOptions {
  /** The users' base URL (`https://localhost:8443`). */
  readonly base: string;
  readonly ca: string | Buffer;
  /** Requests per second, across all paths and addresses. */
  readonly rate: number;
  readonly seconds: number;
  /** GET paths, taken in turn. */
  readonly paths: readonly string[];
  /** Client addresses (127.0.3.1 …). @default 250 */
  readonly addresses?: number;
  /** The third octet of the first address (`127.0.<n>.1`), so two loads can use different clients. @default 3 */
  readonly firstAddress?: number;
  /** A new TLS connection per request (no keep-alive). @default false */
  readonly fresh?: boolean;
  /** @default 10000 */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called once a second (e.g. to sample memory). */
  readonly onSecond?: (second: number) => void;
}

export interface UsersAnswer {
  readonly atMs: number;
  readonly path: string;
  /** HTTP status, or the error's code (`ECONNRESET`, `timeout`). */
  readonly status: number | string;
  readonly latencyMs: number;
}

export interface UsersLoadFigures {
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  /** Answers by status or error code. */
  readonly outcomes: Record<string, number>;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
}

/** The figures of a set of answers: 2xx/3xx/404 are answers, the rest (5xx, 429, errors) failures. */
export function usersFigures(answers: readonly UsersAnswer[]): UsersLoadFigures {
  const outcomes: Record<string, number> = {};
  for (const answer of answers) outcomes[String(answer.status)] = (outcomes[String(answer.status)] ?? 0) + 1;
  const isOk = (status: number | string) => typeof status === 'number' && status < 400;
  const sorted = answers.map((a) => a.latencyMs).sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  const ok = answers.filter((a) => isOk(a.status)).length;
  return { sent: answers.length, ok, failed: answers.length - ok, outcomes, p50Ms: round(percentile(sorted, 50)), p95Ms: round(percentile(sorted, 95)), p99Ms: round(percentile(sorted, 99)) };
}

export async function runUsersLoad(options: UsersLoadOptions): Promise<UsersAnswer[]> {
  const addresses = userAddresses(options.addresses ?? 250, options.firstAddress);
  const agents = new Map<string, Agent>();
  const agentFor = (address: string) =>
    agents.get(address) ?? agents.set(address, new Agent({ ca: options.ca, keepAlive: !options.fresh, localAddress: address, maxCachedSessions: options.fresh ? 0 : 100 })).get(address)!;
  const url = new URL(options.base);
  const answers: UsersAnswer[] = [];
  const pending: Promise<void>[] = [];
  const started = performance.now();
  const total = Math.round(options.rate * options.seconds);
  let second = -1;
  for (let i = 0; i < total && !options.signal?.aborted; i++) {
    const path = options.paths[i % options.paths.length]!;
    const address = addresses[i % addresses.length]!;
    const sentAt = performance.now();
    const now = Math.floor((sentAt - started) / 1000);
    if (now !== second) {
      second = now;
      options.onSecond?.(second);
    }
    pending.push(
      new Promise<void>((resolve) => {
        const finish = (status: number | string) => {
          answers.push({ atMs: sentAt - started, path, status, latencyMs: performance.now() - sentAt });
          resolve();
        };
        const req = request(
          { host: url.hostname, port: url.port, path, servername: url.hostname, headers: { host: url.host }, agent: agentFor(address), timeout: options.timeoutMs ?? 10_000 },
          (res) => {
            res.resume();
            res.on('end', () => finish(res.statusCode ?? 0));
            res.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message.slice(0, 40)));
          },
        );
        req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
        req.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message.slice(0, 40)));
        req.end();
      }),
    );
    const due = started + ((i + 1) * 1000) / options.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  await Promise.all(pending);
  for (const agent of agents.values()) agent.destroy();
  return answers.sort((a, b) => a.atMs - b.atMs);
}
