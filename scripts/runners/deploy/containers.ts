/** The colors' containers through compose: start, stop, Docker's health, and what each stub says from inside. */
import type { Color } from '../../../services/config/schema.js';
import { DeployInputError } from '../../../services/errors.js';
import { tryRun } from '../exec.js';
import { compose, listContainers, tryCompose, type ComposeTarget } from '../stack.js';
import { appServices } from './traefik-api.js';
import { STUB_PORT } from '../../../services/contracts/index.js';

/** Where the stack answers on this host (published ports, discovered from compose). */
export interface Endpoints {
  readonly https: string;
  readonly traefikApi: string;
  readonly prometheus: string;
}

/** Published host ports of Traefik and Prometheus, as compose maps them. */
export async function discoverEndpoints(target: ComposeTarget): Promise<Endpoints> {
  const port = async (service: string, containerPort: number) => {
    const out = (await compose(target, ['port', service, String(containerPort)])).trim().split('\n')[0] ?? '';
    const hostPort = out.split(':').at(-1);
    if (!hostPort) throw new DeployInputError([`${service}: no published port for ${containerPort} (is the stack up? make up)`]);
    return Number(hostPort);
  };
  return {
    https: `https://localhost:${await port('traefik', 443)}`,
    traefikApi: `http://127.0.0.1:${await port('traefik', 8080)}`,
    prometheus: `http://127.0.0.1:${await port('prometheus', 9090)}`,
  };
}

/** A stub's `/health` answer (L1–L3), or why it could not be read. */
export interface ServiceHealth {
  readonly status: string;
  readonly checks?: unknown;
}

/** GET a path of a stub from inside its container (its port isn't published). */
function fetchInside(target: ComposeTarget, service: string, path: string) {
  return tryCompose(target, ['exec', '-T', service, 'node', '-e', `fetch('http://127.0.0.1:${STUB_PORT}${path}').then(r => r.text()).then(t => process.stdout.write(t))`]);
}

/** `/health` of a container, from inside it (the L1–L3 JSON, for the gate and the report). */
export async function containerHealth(target: ComposeTarget, service: string): Promise<ServiceHealth> {
  const result = await fetchInside(target, service, '/health');
  try {
    return JSON.parse(result.stdout) as ServiceHealth;
  } catch {
    return { status: `unreadable (${result.stderr.trim() || result.stdout.trim() || `exit ${result.code}`})` };
  }
}

/** Requests being served by a color right now (each container's in-flight gauge). */
export async function inFlight(target: ComposeTarget, color: Color): Promise<number> {
  const counts = await Promise.all(
    appServices(color).map(async (service) => {
      const match = /^http_requests_in_flight(?:\{[^}]*\})? (\d+)/m.exec((await fetchInside(target, service, '/metrics')).stdout);
      return match ? Number(match[1]) : 0;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** The services of `color` Docker does not report healthy, with their health (`absent` when there is no container). */
export async function unhealthyServices(target: ComposeTarget, color: Color): Promise<string[]> {
  const containers = await listContainers(target);
  return appServices(color)
    .map((name) => ({ name, health: containers.find((c) => c.service === name)?.health }))
    .filter((entry) => entry.health !== 'healthy')
    .map((entry) => `${entry.name}: ${entry.health || 'absent'}`);
}

/** Recreate `color`'s services (a new version: compose reads its env file again). */
export async function startColor(target: ComposeTarget, color: Color, recreate: boolean): Promise<void> {
  await compose(target, ['up', '-d', '--no-deps', ...(recreate ? ['--force-recreate'] : []), ...appServices(color)]);
}

export async function stopColor(target: ComposeTarget, color: Color): Promise<void> {
  await compose(target, ['stop', ...appServices(color)]);
}

/** Whether the engine has an image (a deploy refuses one it doesn't, before anything changes). */
export async function imageInEngine(ref: string): Promise<boolean> {
  return (await tryRun(['docker', 'image', 'inspect', '--format', '{{.Id}}', ref])).code === 0;
}
