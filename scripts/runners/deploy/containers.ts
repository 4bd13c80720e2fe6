/** The colors' containers through compose: start, stop, Docker's health, and what each stub says from inside. */
import type { Color } from '../../../services/config/schema.js';
import { DeployInputError } from '../../../services/errors.js';
import { engineOf } from '../clients/engine-of.js';
import { type ComposeTarget } from '../clients/engine.js';
import { appServices, dashboardAuthorization, type TraefikApi } from './traefik-api.js';
import { fetchStub, forgetStubAddresses } from '../clients/stub-http.js';
import { probeName } from '../../../services/topology/own-services.js';

/** Where the stack answers on this host (published ports, discovered from compose). */
export interface Endpoints {
  readonly https: string;
  readonly traefikApi: TraefikApi;
  readonly prometheus: string;
}

/** Published host ports of Traefik and Prometheus, as compose maps them. */
export async function discoverEndpoints(target: ComposeTarget): Promise<Endpoints> {
  const port = async (service: string, containerPort: number) => {
    const hostPort = await engineOf(target).publishedPort(service, containerPort);
    if (hostPort === undefined) throw new DeployInputError([`${service}: no published port for ${containerPort} (is the stack up? make up)`]);
    return hostPort;
  };
  return {
    https: `https://localhost:${await port('traefik', 443)}`,
    traefikApi: { url: `http://127.0.0.1:${await port('traefik', 8080)}`, authorization: await dashboardAuthorization(target.stateDir) },
    prometheus: `http://127.0.0.1:${await port('prometheus', 9090)}`,
  };
}

/** A stub's `/health` answer (L1–L3), or why it could not be read. */
export interface ServiceHealth {
  readonly status: string;
  readonly checks?: unknown;
}

/** `/health` of a container (the L1–L3 JSON, for the gate and the report). */
export async function containerHealth(target: ComposeTarget, service: string): Promise<ServiceHealth> {
  const result = await fetchStub(target, service, '/health');
  try {
    return JSON.parse(result.text) as ServiceHealth;
  } catch {
    return { status: `unreadable (${result.error ?? (result.text.trim() || 'no answer')})` };
  }
}

/** Requests being served by a color right now (each container's in-flight gauge). */
export async function inFlight(target: ComposeTarget, color: Color): Promise<number> {
  const counts = await Promise.all(
    appServices(color).map(async (service) => {
      const match = /^http_requests_in_flight(?:\{[^}]*\})? (\d+)/m.exec((await fetchStub(target, service, '/metrics')).text);
      return match ? Number(match[1]) : 0;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** The services of `color` Docker does not report healthy, with their health (`absent` when there is no container). */
export async function unhealthyServices(target: ComposeTarget, color: Color): Promise<string[]> {
  const containers = await engineOf(target).listContainers();
  // A developer's image is judged by its probe (services/topology/own-services.ts): the probe's health is its own.
  const healthOf = (name: string) => (containers.find((c) => c.service === probeName(name)) ?? containers.find((c) => c.service === name))?.health;
  return appServices(color)
    .map((name) => ({ name, health: healthOf(name) }))
    .filter((entry) => entry.health !== 'healthy')
    .map((entry) => `${entry.name}: ${entry.health || 'absent'}`);
}

/**
 * CPU weight (cgroup cpu.shares; Docker's default is 1024) of a color while it starts. Four Node
 * processes loading their bundles, connecting and migrating at once took most of a 2-core
 * machine for seconds, and the active color's answers queued behind them (users' p99 ~1.4 s).
 * At 1/8 of the weight they start on what the serving containers leave over; they get the
 * full weight back once healthy, before any traffic reaches them.
 */
export const STARTING_CPU_SHARES = 128;
/** `make bench-deploy STARTING_SHARES=1024` compares with the old behaviour (no lowered weight). */
const startingShares = (): number => Number(process.env.PARITY_STARTING_CPU_SHARES ?? STARTING_CPU_SHARES);
const DEFAULT_CPU_SHARES = 1024;

/**
 * Start `color`'s services. `recreate`: a new version (compose reads its env file again); the
 * containers are created first and started with a low CPU weight (`fullCpuWeight` restores it).
 */
/**
 * The color's services with the probes that judge some of them from outside (a developer's image):
 * a probe is recreated with its service, so its health starts again from "starting" — the old
 * probe's "healthy" would otherwise speak for a container that is gone until its retries ran out.
 */
async function withProbes(target: ComposeTarget, services: readonly string[]): Promise<string[]> {
  const present = new Set((await engineOf(target).listContainers()).map((c) => c.service));
  return [...services, ...services.map(probeName).filter((probe) => present.has(probe))];
}

export async function startColor(target: ComposeTarget, color: Color, recreate: boolean): Promise<void> {
  const services = appServices(color);
  forgetStubAddresses(target, services);
  const all = await withProbes(target, services);
  if (!recreate) {
    await engineOf(target).up(all, { noDeps: true });
    return;
  }
  await engineOf(target).up(all, { start: false, noDeps: true, recreate: true });
  await setCpuShares(target, services, startingShares());
  await engineOf(target).start(all);
}

/** Give a started color Docker's default CPU weight again (idempotent). */
export async function fullCpuWeight(target: ComposeTarget, color: Color): Promise<void> {
  await setCpuShares(target, appServices(color), DEFAULT_CPU_SHARES);
}

async function setCpuShares(target: ComposeTarget, services: readonly string[], shares: number): Promise<void> {
  await engineOf(target).setCpuWeight(services, shares);
}

export async function stopColor(target: ComposeTarget, color: Color): Promise<void> {
  forgetStubAddresses(target, appServices(color));
  await engineOf(target).stop(await withProbes(target, appServices(color)));
}

