/** Traefik's API (the dashboard entrypoint): which weights it has loaded, which servers it sees UP. */
import { APP_SERVICES } from '../../../services/config/profiles.js';
import type { Color } from '../../../services/config/schema.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DASHBOARD_USER } from '../../../services/topology/edge-security.js';

/** The API's address and the basic-auth header its router asks for (the dashboard's user and generated password). */
export interface TraefikApi {
  readonly url: string;
  readonly authorization: string;
}

/** `Basic …` for the dashboard's user, from the stack's secret (never printed). */
export async function dashboardAuthorization(stateDir: string): Promise<string> {
  const password = (await readFile(join(stateDir, 'secrets', 'traefik_dashboard_password'), 'utf8')).trim();
  return `Basic ${Buffer.from(`${DASHBOARD_USER}:${password}`).toString('base64')}`;
}

const get = (api: TraefikApi, path: string) => fetch(`${api.url}${path}`, { headers: { authorization: api.authorization } });

export const appServices = (color: Color): string[] => APP_SERVICES.map((app) => `${app}-${color}`);

/** The weights Traefik serves now (read on the frontend's weighted service; all are written together). */
export async function loadedWeights(traefikApi: TraefikApi): Promise<Partial<Record<Color, number>>> {
  const response = await get(traefikApi, '/api/http/services/frontend@file');
  const service = (await response.json()) as { weighted?: { services?: { name: string; weight: number }[] } };
  return Object.fromEntries((service.weighted?.services ?? []).map((entry) => [entry.name.replace(/^frontend-|@file$/g, ''), entry.weight]));
}

/** The services of `color` whose servers Traefik's own health checks don't see UP. */
export async function downServices(traefikApi: TraefikApi, color: Color): Promise<string[]> {
  const down: string[] = [];
  for (const service of appServices(color)) {
    try {
      const response = await get(traefikApi, `/api/http/services/${service}@file`);
      const info = (await response.json()) as { serverStatus?: Record<string, string> };
      const statuses = Object.values(info.serverStatus ?? {});
      if (statuses.length === 0 || statuses.some((status) => status !== 'UP')) down.push(service);
    } catch {
      down.push(service);
    }
  }
  return down;
}
