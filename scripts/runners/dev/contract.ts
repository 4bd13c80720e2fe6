/**
 * `make contract SERVICE=events [IMAGE=ref]`: the platform contract checked against a candidate
 * image, on an isolated copy of its dependencies — a stack of its own (profile minimal with
 * Toxiproxy, project parity-contract, ports 58xxx) with the candidate in the service's place
 * (image mode, with the service's port, env, envMap and health paths from parity.yaml). The runner
 * collects evidence (services/contracts/platform-contract.ts judges it): boot time, liveness and
 * readiness with the database cut through Toxiproxy, headers, metrics, unauthenticated writes, a
 * request in flight at SIGTERM, a restart on its own migrated schema. The stack goes at the end,
 * also on Ctrl-C.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { APP_SERVICES, type AppService, type ParityConfig } from '../../../services/config/schema.js';
import { judgeContract, type ContractEvidence } from '../../../services/contracts/platform-contract.js';
import { ROUTES, WRITE_METHODS } from '../../../services/contracts/routes.js';
import { suggest, UsageError } from '../../../services/errors.js';
import { catalogRef } from '../../../services/images/catalog.js';
import { contractPassed, renderContractJunit, type ContractReport } from '../../../services/render/contract-report.js';
import { TOXIPROXY_API_PORT } from '../../../services/topology/chaos.js';
import { healthPaths, ownImage } from '../../../services/topology/own-services.js';
import { engineOf } from '../clients/engine-of.js';
import { badTokenAnswers, contractIdentities, guardedRoute, rotatedKeyStatus, routeMatrix } from './contract-tokens.js';
import type { ComposeTarget } from '../clients/engine.js';
import { stubEndpoint, forgetStubAddresses } from '../clients/stub-http.js';
import { addToxic, removeToxic, setProxyEnabled } from '../clients/toxiproxy.js';
import type { Progress } from '../core/progress.js';
import { statePath, writeFileAtomic } from '../core/state.js';
import { imageIdInEngine } from '../engine/images.js';
import { generate, loadConfig } from '../gen/gen.js';
import { downStack } from '../stack/stack.js';
import { prepareState } from '../stack/stack-state.js';

const PORTS = { http: 58080, https: 58443, dashboard: 58081, postgres: 58432, postgresReplica: 58433, redis: 58379 } as const;
const BOOT_BUDGET_MS = 30_000;

/** The service and image to check, or a UsageError (exit 2). The image: IMAGE, else the config's own, else the stubs'. */
export function parseContractRequest(service: string | undefined, image: string | undefined, config: ParityConfig): { readonly service: AppService; readonly image: string } {
  if (!service) throw new UsageError(`SERVICE is required: one of ${APP_SERVICES.join(', ')} (auth stays a stub)`);
  if (!(APP_SERVICES as readonly string[]).includes(service)) {
    const hint = suggest(service, APP_SERVICES);
    throw new UsageError(`SERVICE=${service}: not a platform service${hint ? ` (did you mean ${hint}?)` : ''}; expected one of ${APP_SERVICES.join(', ')}`);
  }
  if (image !== undefined && !/^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?$/.test(image)) throw new UsageError(`IMAGE=${image}: not an image reference (repository:tag)`);
  return { service: service as AppService, image: image ?? ownImage(config, service as AppService)?.image ?? catalogRef('stubs') };
}

/** The isolated stack's config: the candidate in the service's place, with the service's own settings from parity.yaml. */
export function contractConfigYaml(config: ParityConfig, service: AppService, image: string): string {
  const isStubs = image === catalogRef('stubs');
  const settings = contractSettings(config, service);
  return stringify({ profile: 'minimal', chaos: { enabled: true }, ports: PORTS, ...(isStubs ? {} : { services: { [service]: { source: 'image', image, ...settings } } }) });
}

/** The service's settings from parity.yaml a contract run uses: what the candidate is started with. */
export function contractSettings(config: ParityConfig, service: AppService): Record<string, unknown> {
  const own = config.services[service];
  return { ...(own?.port ? { port: own.port } : {}), ...(own?.health ? { health: own.health } : {}), ...(own?.env ? { env: own.env } : {}), ...(own?.envMap ? { envMap: own.envMap } : {}) };
}

/** A short hash of those settings: a run on record counts for the gate only with the same ones. */
export const contractSettingsKey = (config: ParityConfig, service: AppService): string =>
  createHash('sha256').update(JSON.stringify(contractSettings(config, service))).digest('hex').slice(0, 16);

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where the runs' reports go, one folder each: the gate's record (contract-gate.ts). */
export const contractRecordsDir = (stateDir?: string): string => (stateDir ? join(stateDir, 'contracts') : statePath('contracts'));

export async function runContract(
  request: { readonly service: AppService; readonly image: string },
  config: ParityConfig,
  progress: Progress,
  signal?: AbortSignal,
  recordsDir = contractRecordsDir(),
): Promise<{ readonly report: ContractReport; readonly dir: string }> {
  const { service, image } = request;
  const started = Date.now();
  const work = statePath(`contract-${process.pid}`);
  const dir = join(recordsDir, `${new Date(started).toISOString().replace(/[:.]/g, '-')}-${service}`);
  const target: ComposeTarget = { project: 'parity-contract', composeDir: join(work, 'compose'), stateDir: join(work, 'state') };
  // The frontend reaches the APIs only (no data network): the database clauses don't apply to it.
  const evidence: { -readonly [K in keyof ContractEvidence]: ContractEvidence[K] } = { service, bootBudgetMs: BOOT_BUDGET_MS, usesDatabase: service !== 'frontend' };
  let error: string | undefined;
  const candidate = `${service}-blue`;
  const imageId = await imageIdInEngine(image);
  try {
    if (!imageId) throw new UsageError(`IMAGE=${image}: not on the engine (docker build -t ${image} …, or docker load it); nothing is pulled`);
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    await writeFile(join(work, 'parity.yaml'), contractConfigYaml(config, service, image));
    const isolated = await loadConfig(join(work, 'parity.yaml'));
    const paths = healthPaths(isolated, service);
    await generate(isolated, target.composeDir);
    await prepareState(target.stateDir, target.composeDir);
    const engine = engineOf(target);
    // Each run is a new stack under the same project: addresses an earlier run in this process
    // found (make up's gate for two services, make dev's rebuilds) are gone.
    forgetStubAddresses(target);
    progress.step('starting the isolated dependencies and the candidate');
    await engine.up([], {});
    const call = async (container: string, path: string, init: RequestInit = {}, timeoutMs = 3000): Promise<{ status: number; body: string; headers: Record<string, string> }> => {
      const endpoint = await stubEndpoint(target, container);
      if (!endpoint) throw new Error(`${container} has no address (not running)`);
      const response = await fetch(`http://${endpoint.address}:${endpoint.port}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
      return { status: response.status, body: await response.text(), headers: Object.fromEntries(response.headers) };
    };
    const get = (path: string, init: RequestInit = {}, timeoutMs = 3000) => call(candidate, path, init, timeoutMs);
    const until = async (ok: () => Promise<boolean>, budgetMs: number): Promise<number | undefined> => {
      const from = Date.now();
      while (Date.now() - from < budgetMs) {
        if (signal?.aborted) throw new Error('interrupted');
        if (await ok().catch(() => false)) return Date.now() - from;
        await pause(200);
      }
      return undefined;
    };
    progress.step('boot');
    evidence.bootMs = await until(async () => (await get(paths.live)).status < 300, BOOT_BUDGET_MS);
    if (evidence.bootMs === undefined) throw new Error('never answered its liveness path; the other clauses need it running');
    await until(async () => (await get(paths.ready)).status < 300, 15_000);
    evidence.readiness = await get(paths.ready);
    const readRoute = ROUTES.find((route) => route.service === service && route.method === 'GET' && route.access === 'anonymous' && !route.path.includes(':'));
    if (readRoute) evidence.apiHeaders = (await get(readRoute.path)).headers;
    evidence.metrics = (await get('/metrics')).body;
    const writes = ROUTES.filter((route) => route.service === service && route.access !== 'anonymous' && (WRITE_METHODS as readonly string[]).includes(route.method));
    evidence.unauthenticatedWrites = await Promise.all(
      writes.map(async (route) => {
        const path = route.path.replace(/:[^/]+/g, '00000000-0000-4000-8000-000000000000');
        const answer = await get(path, { method: route.method, headers: { 'content-type': 'application/json' }, body: '{}' });
        return { route: `${route.method} ${route.path}`, status: answer.status };
      }),
    );

    progress.step('roles and tokens, past the edge');
    const tokens = await contractIdentities(call, target);
    evidence.rbac = await routeMatrix(call, candidate, service, tokens);
    const guarded = guardedRoute(service);
    if (guarded) {
      evidence.badTokens = { route: `${guarded.method} ${guarded.path}`, answers: await badTokenAnswers(call, candidate, guarded, tokens.admin, target) };
      evidence.rotatedKeyStatus = await rotatedKeyStatus(call, candidate, guarded, tokens.admin, target, progress);
    }

    progress.step('the database cut (Toxiproxy)');
    const toxiproxy = `http://127.0.0.1:${await engine.publishedPort('toxiproxy', TOXIPROXY_API_PORT)}`;
    const database = ['postgres-writer', 'postgres-reader'];
    try {
      for (const proxy of database) await setProxyEnabled(toxiproxy, proxy, false);
      await until(async () => (await get(paths.ready)).status >= 300, 10_000);
      evidence.readinessWithoutDatabase = await get(paths.ready, {}, 5000).catch((e: Error) => ({ status: 0, body: `no answer: ${e.message}`, headers: {} }));
      evidence.livenessWithoutDatabase = (await get(paths.live, {}, 3000).catch(() => ({ status: 0 }))).status;
    } finally {
      for (const proxy of database) await setProxyEnabled(toxiproxy, proxy, true);
    }
    await until(async () => (await get(paths.ready)).status < 300, 20_000);

    progress.step('a request in flight at SIGTERM');
    const toxic = 'contract-slow-reads';
    await addToxic(toxiproxy, 'postgres-reader', { name: toxic, type: 'latency', attributes: { latency: 1500 } });
    try {
      const inFlight = readRoute
        ? get(readRoute.path, {}, 15_000).then((answer) => ({ status: answer.status }), (e: Error) => ({ error: e.message }))
        : Promise.resolve(undefined);
      await pause(300);
      const stopped = engine.stop([candidate]);
      evidence.inFlightAtSigterm = await inFlight;
      await stopped;
    } finally {
      await removeToxic(toxiproxy, 'postgres-reader', toxic);
    }

    progress.step('a restart on its migrated schema');
    forgetStubAddresses(target, [candidate]);
    await engine.start([candidate]);
    evidence.restartReadyMs = await until(async () => (await get(paths.ready)).status < 300, BOOT_BUDGET_MS);
  } catch (caught) {
    if (caught instanceof UsageError) throw caught;
    error = (caught as Error).message;
  } finally {
    progress.done();
    await downStack(target, true).catch((e: Error) => progress.info(`could not remove the contract's stack: ${e.message} (docker compose -p parity-contract down -v)`));
    await rm(work, { recursive: true, force: true });
  }
  const report: ContractReport = {
    service,
    image,
    ...(imageId ? { imageId } : {}),
    settingsKey: contractSettingsKey(config, service),
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    clauses: judgeContract(evidence),
    ...(error ? { error } : {}),
  };
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, 'report.json'), `${JSON.stringify({ ...report, passed: contractPassed(report) }, null, 2)}\n`);
  await writeFileAtomic(join(dir, 'junit.xml'), renderContractJunit(report));
  return { report, dir };
}
