/**
 * Everything a deploy or a rollback does to the world, behind one interface: the phases get a
 * `DeployClients`, the CLI gives them the real one (`createDeployClients`), unit tests give them
 * fakes. A drill will want the same clients plus its fault.
 */
import { join } from 'node:path';
import type { Color, ParityConfig } from '../../../services/config/schema.js';
import type { ColorCounters, ColorState, DeployState } from '../../../services/deploy/policy.js';
import { writeColorEnv, writeDeployState, writeRoutes } from '../stack/deploy-state.js';
import { systemClock, type Clock } from '../core/poll.js';
import type { ComposeTarget } from '../clients/engine.js';
import { createDeployAudit, type DeployAudit } from '../clients/audit.js';
import { writeFileAtomic } from '../core/state.js';
import { imageIdInEngine, imageInEngine } from '../engine/images.js';
import { containerHealth, discoverEndpoints, fullCpuWeight, inFlight, startColor, stopColor, unhealthyServices, type Endpoints, type ServiceHealth } from './containers.js';
import { createClient, type HttpClient } from '../core/http.js';
import { bothCounters } from './prometheus.js';
import { reportFileName } from './report.js';
import { runSmoke, type SmokeJourneys } from './smoke.js';
import { downServices, loadedWeights } from './traefik-api.js';
import { COLOR_HEADER, headerKey } from '../../../services/contracts/index.js';

/** The deploy's files: Traefik's watched routes, the state of record, the colors' env files, reports. */
export interface DeployStore {
  writeRoutes(weights: Record<Color, number>, sticky: boolean): Promise<void>;
  writeState(state: DeployState): Promise<void>;
  writeColorEnv(color: Color, settings: ColorState): Promise<void>;
  /** Returns the file written. */
  saveReport(name: string, report: object): Promise<string>;
}

export interface DeployClients {
  readonly clock: Clock;
  readonly store: DeployStore;
  readonly traefik: {
    /** The weights Traefik's API shows loaded. */
    loadedWeights(): Promise<Partial<Record<Color, number>>>;
    /** Services of a color whose servers Traefik does not see UP. */
    downServices(color: Color): Promise<string[]>;
  };
  readonly prometheus: {
    /** Both colors' Traefik counters, per series. */
    counters(): Promise<Record<Color, ColorCounters>>;
  };
  readonly containers: {
    start(color: Color, recreate: boolean): Promise<void>;
    /** A recreated color starts with a low CPU weight (see `startColor`): give it the full one. */
    fullCpuWeight?(color: Color): Promise<void>;
    stop(color: Color): Promise<void>;
    /** `service: health` for each service of the color Docker does not see healthy. */
    unhealthy(color: Color): Promise<string[]>;
    /** A service's own `/health` (L1–L3). */
    health(service: string): Promise<ServiceHealth>;
    /** Requests a color is serving now. */
    inFlight(color: Color): Promise<number>;
    /** Whether the engine has the image. */
    imageExists(ref: string): Promise<boolean>;
    /** The engine's ID of an image (sha256:…), for the state, report and audit log. @default not recorded */
    imageId?(ref: string): Promise<string | undefined>;
  };
  /** Gate L4's journeys, pinned to a color; throws a `GateFailure` naming the journey that failed. */
  smoke(color: Color, version: string): Promise<SmokeJourneys>;
  /** One unpinned request through Traefik: the color that answered (undefined: no answer). */
  answeringColor(): Promise<string | undefined>;
  /** The platform's audit log (deploy.start, deploy.finish, deploy.rollback). @default none: nothing recorded */
  readonly audit?: DeployAudit;
}

/** Connection-level failures: nothing answered at that address (the edge restarting, its port moved). */
const isUnreachable = (error: unknown): boolean => /ECONNREFUSED|ECONNRESET|EPIPE|socket hang up/.test(String((error as { code?: string }).code ?? (error as Error).message));

/** How long the deploy waits for the edge to answer again before the failure counts. */
export const EDGE_BACK_MS = 60_000;

/**
 * Requests to the operators' entrypoint that survive the edge restarting: its host port is
 * ephemeral and may change when Traefik's container restarts (an OOM kill did, and a good deploy
 * was rolled back for `ECONNREFUSED 127.0.0.1:<old port>`). On a connection failure the port is
 * looked up again and the request retried until the edge answers, within EDGE_BACK_MS; that time
 * is the tool's, not the new version's, and it is reported as a warning, never as a failed gate.
 */
export function edgeClient(http: HttpClient, initial: string, rediscover: () => Promise<string>, clock: Clock, warn: (message: string) => void): { readonly http: HttpClient; base(): string } {
  let base = initial;
  // Every address the edge had: a caller may still build URLs on one it learnt before a move.
  const known = new Set([initial]);
  const client: HttpClient = async (url, options) => {
    const was = [...known].find((address) => url.startsWith(address));
    if (was === undefined) return http(url, options);
    const path = url.slice(was.length);
    const started = clock.now();
    for (;;) {
      try {
        return await http(`${base}${path}`, options);
      } catch (error) {
        if (!isUnreachable(error) || clock.now() - started > EDGE_BACK_MS) throw error;
        const before = base;
        base = await rediscover().catch(() => base);
        known.add(base);
        warn(`the edge did not answer at ${before} (${(error as Error).message}); ${base === before ? 'same address' : `now at ${base}`}: retried (the tool's time, not the new version's)`);
        await clock.sleep(500);
      }
    }
  };
  return { http: client, base: () => base };
}

/** The real clients for a running stack (`config` says where the database's writer is, for the audit log). */
export function createDeployClients(target: ComposeTarget, endpoints: Endpoints, config: ParityConfig, clock: Clock = systemClock, warn: (message: string) => void = () => {}): DeployClients {
  const edge = edgeClient(createClient(join(target.stateDir, 'ca', 'parity-ca.pem')), endpoints.https, async () => (await discoverEndpoints(target)).https, clock, warn);
  const http = edge.http;
  return {
    clock,
    store: {
      writeRoutes: (weights, sticky) => writeRoutes(target.stateDir, { weights, sticky }),
      writeState: (state) => writeDeployState(target.stateDir, state),
      writeColorEnv: (color, settings) => writeColorEnv(target.stateDir, color, settings),
      async saveReport(name, report) {
        const file = join(target.stateDir, 'deploy', 'reports', reportFileName(new Date(clock.now()), name));
        await writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
        return file;
      },
    },
    traefik: { loadedWeights: () => loadedWeights(endpoints.traefikApi), downServices: (color) => downServices(endpoints.traefikApi, color) },
    prometheus: { counters: () => bothCounters(endpoints.prometheus) },
    containers: {
      start: (color, recreate) => startColor(target, color, recreate),
      fullCpuWeight: (color) => fullCpuWeight(target, color),
      stop: (color) => stopColor(target, color),
      unhealthy: (color) => unhealthyServices(target, color),
      health: (service) => containerHealth(target, service),
      inFlight: (color) => inFlight(target, color),
      imageExists: imageInEngine,
      imageId: imageIdInEngine,
    },
    smoke: (color, version) => runSmoke(http, edge.base(), color, version, clock),
    answeringColor: async () => {
      const response = await http(`${edge.base()}/api/events`).catch(() => undefined);
      const color = response?.headers[headerKey(COLOR_HEADER)];
      return typeof color === 'string' ? color : undefined;
    },
    audit: createDeployAudit(target, config),
  };
}
