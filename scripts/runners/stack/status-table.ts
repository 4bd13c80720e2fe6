/** The status table's parts: a Patroni member, Toxiproxy's faults, the table itself (`make status`). */
import type { ComposeTarget } from '../clients/engine.js';
import { engineOf } from '../clients/engine-of.js';
import type { Member } from '../clients/patroni.js';
import { faultyProxies, listProxies } from '../clients/toxiproxy.js';
import { TOXIPROXY_API_PORT } from '../../../services/topology/chaos.js';

export interface StatusRow {
  service: string;
  state: string;
  health: string;
  url: string;
  color: string;
}

/** Toxiproxy's state for the status table: its proxies and any fault on them (a drill's, or one left behind). */
export async function describeFaults(target: ComposeTarget, running: boolean): Promise<string | undefined> {
  if (!running) return undefined;
  const port = await engineOf(target).publishedPort('toxiproxy', TOXIPROXY_API_PORT);
  if (port === undefined) return undefined;
  const proxies = await listProxies(`http://127.0.0.1:${port}`).catch(() => undefined);
  if (!proxies) return undefined;
  const faulty = faultyProxies(proxies);
  const api = `API http://127.0.0.1:${port}`;
  return faulty.length
    ? `FAULTS: ${faulty.map((p) => `${p.name} ${[...(p.enabled ? [] : ['down']), ...p.toxics].join('+')}`).join(', ')} (make chaos-reset); ${api}`
    : `${proxies.length} proxies, no fault; ${api}`;
}

/** A Patroni member for the status table: role, timeline and lag (`leader tl 3`, `sync_standby tl 3 lag 0 B`). */
export function describeMember(member: Member): string {
  return `${member.role} tl ${member.timeline ?? '?'}${member.role === 'leader' ? '' : ` lag ${member.lag === undefined ? '?' : `${member.lag} B`}`}${member.state === 'running' || member.state === 'streaming' ? '' : ` (${member.state})`}`;
}

export function formatStatusTable(rows: StatusRow[]): string {
  const header = { service: 'SERVICE', state: 'STATE', health: 'HEALTH', color: 'COLOR / ROLE', url: 'URL / PORT' };
  const all = [header, ...rows];
  const width = (key: keyof StatusRow) => Math.max(...all.map((row) => row[key].length));
  const line = (row: StatusRow) =>
    [row.service.padEnd(width('service')), row.state.padEnd(width('state')), row.health.padEnd(width('health')), row.color.padEnd(width('color')), row.url]
      .join('  ')
      .trimEnd();
  return all.map(line).join('\n');
}

