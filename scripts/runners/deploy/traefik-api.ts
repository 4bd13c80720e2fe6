/** Traefik's API (the dashboard entrypoint): which weights it has loaded, which servers it sees UP. */
import { APP_SERVICES } from '../../../services/config/profiles.js';
import type { Color } from '../../../services/config/schema.js';

export const appServices = (color: Color): string[] => APP_SERVICES.map((app) => `${app}-${color}`);

/** The weights Traefik serves now (read on the frontend's weighted service; all are written together). */
export async function loadedWeights(traefikApi: string): Promise<Partial<Record<Color, number>>> {
  const response = await fetch(`${traefikApi}/api/http/services/frontend@file`);
  const service = (await response.json()) as { weighted?: { services?: { name: string; weight: number }[] } };
  return Object.fromEntries((service.weighted?.services ?? []).map((entry) => [entry.name.replace(/^frontend-|@file$/g, ''), entry.weight]));
}

/** The services of `color` whose servers Traefik's own health checks don't see UP. */
export async function downServices(traefikApi: string, color: Color): Promise<string[]> {
  const down: string[] = [];
  for (const service of appServices(color)) {
    try {
      const response = await fetch(`${traefikApi}/api/http/services/${service}@file`);
      const info = (await response.json()) as { serverStatus?: Record<string, string> };
      const statuses = Object.values(info.serverStatus ?? {});
      if (statuses.length === 0 || statuses.some((status) => status !== 'UP')) down.push(service);
    } catch {
      down.push(service);
    }
  }
  return down;
}
