/**
 * The chaos drill's options, run object and setup: the scenario checked, the checks before
 * anything changes, the fixtures, and the loads users and the background paths put on the stack.
 * The phases (chaos.ts) inject the fault, hold it, recover and judge.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChaosScenario, Color, ParityConfig } from '../../../../services/config/schema.js';
import { profileServices } from '../../../../services/config/profiles.js';
import type { Band } from '../../../../services/drills/model.js';
import { DrillError, DrillInputError } from '../../../../services/errors.js';
import { ADMIN_EMAIL } from '../../../../services/topology/apps.js';
import { proxiesOfTarget, TOXIPROXY_API_PORT } from '../../../../services/topology/chaos.js';
import { adminOnWriter, type PgLogin } from '../../clients/postgres.js';
import type { HttpClient } from '../../core/http.js';
import { runUsersLoad, usersFigures, type UsersAnswer } from '../../bench/users-load.js';
import { readActiveColor } from '../../stack/stack.js';
import { engineOf } from '../../clients/engine-of.js';
import { type ComposeTarget } from '../../clients/engine.js';
import { faultyProxies, listProxies } from '../../clients/toxiproxy.js';
import { startApiLoad, type StartedApiLoad } from '../api-load.js';
import { watchBreakers, type BreakerWatch } from './breaker-watch.js';
import type { DrillOptions, DrillRun } from '../lifecycle.js';
import { DRILL_USER_ADDRESSES, openDrillUsers } from '../users.js';

/** On Ctrl-C or SIGTERM (`signal`) a chaos drill removes its toxics and reports. */
export interface ChaosOptions extends DrillOptions {
  readonly scenario: string;
  /** Users' GETs per second, per path of the scenario's load. @default 10 */
  readonly readsPerSecond?: number;
  /** The users' https port (the front's); the config's `ports.https` when absent. */
  readonly usersPort?: number;
  /**
   * Other users meanwhile: GETs per second through the front from 250 client addresses, on `paths`
   * (default /, /api/events, /api/articles), as an incident meets a platform in use. @default none
   */
  readonly background?: { readonly rate: number; readonly paths?: readonly string[] };
}

/** What the background users hit by default: the home page and the two read APIs. */
export const BACKGROUND_PATHS = ['/', '/api/events', '/api/articles'] as const;

/** Everything one chaos drill knows; each phase reads and fills it. */
/** One chaos drill: what each phase reads and fills. */
export interface ChaosRun extends DrillRun<ChaosOptions> {
  readonly scenario: ChaosScenario;
  readonly bands: Band[];
  toxiproxy: string;
  proxies: string[];
  color: Color;
  http?: HttpClient;
  https?: string;
  token?: string;
  writer?: PgLogin;
  articleSlug?: string;
  loadPaths: string[];
  watch?: BreakerWatch;
  api?: StartedApiLoad;
  background?: { readonly stop: AbortController; readonly done: Promise<UsersAnswer[]> };
  faultAtMs?: number;
  removedAtMs?: number;
}

/** The scenario by name, or exit 2 listing the declared ones. */
export function validateChaosScenario(config: ParityConfig, name: string): ChaosScenario {
  const scenario = config.chaos.scenarios[name];
  if (scenario) return scenario;
  throw new DrillInputError(`unknown chaos scenario "${name}"; declared (chaos.scenarios in parity.yaml and the built-in ones): ${Object.keys(config.chaos.scenarios).join(', ')}`);
}

/** Toxiproxy's API on the host, or exit 2 when the stack isn't up with chaos on. */
export async function toxiproxyApi(target: ComposeTarget, config: ParityConfig): Promise<string> {
  if (!config.chaos.enabled) {
    throw new DrillInputError(`chaos is off in this config (chaos.enabled: false${config.profile === 'minimal' ? ', the default with profile minimal' : ''}); set chaos.enabled: true in parity.yaml, then make gen and make up`);
  }
  const port = await engineOf(target).publishedPort('toxiproxy', TOXIPROXY_API_PORT);
  if (port === undefined) throw new DrillInputError(`toxiproxy publishes no port in project ${target.project}: is the stack up with chaos on? (make up)`);
  return `http://127.0.0.1:${port}`;
}

export async function preflight(run: ChaosRun): Promise<void> {
  const { target, config } = run.options;
  run.toxiproxy = await toxiproxyApi(target, config);
  const proxies = await listProxies(run.toxiproxy).catch((error: Error) => {
    throw new DrillInputError(`Toxiproxy of project ${target.project} does not answer (${error.message}): is the stack up? (make up)`);
  });
  run.proxies = proxiesOfTarget(config, profileServices(config), run.scenario.target);
  const missing = run.proxies.filter((name) => !proxies.some((proxy) => proxy.name === name));
  if (missing.length || run.proxies.length === 0) {
    throw new DrillInputError(`the running Toxiproxy has no proxy ${missing.join(', ') || run.scenario.target}: the stack was started from another config (make gen && make up)`);
  }
  const dirty = faultyProxies(proxies);
  if (dirty.length) {
    throw new DrillInputError(`faults left from an earlier run: ${dirty.map((p) => `${p.name}${p.enabled ? '' : ' (disabled)'}${p.toxics.length ? ` [${p.toxics.join(', ')}]` : ''}`).join('; ')}; remove them with make chaos-reset`);
  }
  run.color = (await readActiveColor(target.stateDir))?.color ?? config.activeColor;
  // The drill's users come through the front from many client addresses, as users do.
  const users = await openDrillUsers(target.stateDir, config, run.options.usersPort !== undefined ? { port: run.options.usersPort } : {});
  if (!users.token) throw new DrillInputError(`${users.why ?? 'no login'}: is the stack healthy? (make status)`);
  run.https = users.base;
  run.http = users.http;
  run.token = users.token;
  run.writer = await adminOnWriter(target, config);
}

/** An article with an attachment for loads that read `{article}` (removed again at the end). */
export async function createFixtures(run: ChaosRun): Promise<void> {
  if (!run.scenario.load.some((path) => path.includes('{article}'))) {
    run.loadPaths = [...run.scenario.load];
    return;
  }
  const auth = { authorization: `Bearer ${run.token}` };
  run.articleSlug = `chaos-drill-${run.startedAt.getTime()}`;
  const created = await run.http!(`${run.https}/api/articles`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'Chaos drill fixture', slug: run.articleSlug, summary: 'Created by make chaos; removed when the drill ends.', body: 'fixture', category: 'community' }),
  });
  if (created.status !== 201) throw new DrillError(`creating the drill's article answered HTTP ${created.status}: ${created.body.slice(0, 200)}`);
  const id = (JSON.parse(created.body) as { id: string }).id;
  const put = await run.http!(`${run.https}/api/articles/${id}/attachments/drill.txt`, { method: 'PUT', headers: { ...auth, 'content-type': 'text/plain' }, body: 'chaos drill attachment\n' });
  if (put.status !== 201) throw new DrillError(`uploading the drill's attachment answered HTTP ${put.status}: ${put.body.slice(0, 200)}`);
  run.loadPaths = run.scenario.load.map((path) => path.replaceAll('{article}', id));
}

export async function startLoad(run: ChaosRun): Promise<void> {
  // Only the stubs whose breakers the scenario names: each poll costs the stub a /metrics render.
  const services = [...new Set(run.scenario.expect.breakers.map((b) => b.split(':')[0]!).filter((s) => s !== 'edge').map((s) => (s === 'auth' ? s : `${s}-${run.color}`)))];
  run.watch = await watchBreakers(run.options.target, services, run.now);
  run.api = startApiLoad({
    http: run.http!,
    base: run.https!,
    readsPerSecond: run.options.readsPerSecond ?? 10,
    readPaths: run.loadPaths,
    authenticatedReads: true,
    token: run.token!,
    writeTag: `chaos-${run.options.scenario}`,
    now: run.now,
    onSample: ({ kind: _kind, ...sample }) => run.samples.push(sample),
  });
  run.options.progress.info(`load: ${run.options.readsPerSecond ?? 10} GET/s on each of ${run.loadPaths.join(', ')} through the front (${run.https}, as ${ADMIN_EMAIL}, from ${DRILL_USER_ADDRESSES} addresses); watching the breakers of ${services.join(', ') || 'the edge only'}`);
  const background = run.options.background;
  if (background && background.rate > 0) {
    const stop = new AbortController();
    const paths = background.paths ?? BACKGROUND_PATHS;
    const ca = await readFile(join(run.options.target.stateDir, 'ca', 'parity-ca.pem'));
    // Other addresses than the drill's own users (127.0.10.x …): their buckets are their own.
    run.background = { stop, done: runUsersLoad({ base: run.https!, ca, rate: background.rate, seconds: 3600, paths, addresses: 250, firstAddress: 10, signal: stop.signal }) };
    run.options.progress.info(`other users meanwhile: ${background.rate} GET/s on ${paths.join(', ')} through the front from 250 more addresses`);
  }
}

/** Stop the other users; their answers go into the report's notes. */
export async function stopBackground(run: ChaosRun): Promise<void> {
  if (!run.background) return;
  run.background.stop.abort();
  const answers = await run.background.done;
  const figures = usersFigures(answers);
  run.notes.push(`other users (${run.options.background!.rate}/s through the front): ${figures.ok}/${figures.sent} answered, p50 ${figures.p50Ms} ms, p95 ${figures.p95Ms} ms, p99 ${figures.p99Ms} ms; by status ${JSON.stringify(figures.outcomes)}`);
}

/** Put the fault on every proxy of the target; each step's undo is registered before it is applied. */
