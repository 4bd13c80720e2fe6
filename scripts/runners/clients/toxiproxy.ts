/**
 * Toxiproxy's HTTP API (a real Toxiproxy in the stack): toxics on a proxy, and a reset that
 * removes them all. Whoever adds a toxic removes it, also on Ctrl-C: callers keep the reset in a
 * `finally`.
 */
import { ServiceAnswerError } from '../../../services/errors.js';

export interface Toxic {
  readonly name: string;
  /** `latency`, `timeout`, `bandwidth`, `slicer`, `reset_peer`, `limit_data`, … */
  readonly type: string;
  /** `downstream` (towards the client, the default) or `upstream` (towards the server). */
  readonly stream?: 'upstream' | 'downstream';
  /** Share of connections affected, 0–1. @default 1 */
  readonly toxicity?: number;
  readonly attributes: Readonly<Record<string, number>>;
}

async function call(api: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${api}${path}`, { method, ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}), signal: AbortSignal.timeout(5000) });
  const text = await response.text();
  if (!response.ok) throw new ServiceAnswerError(`Toxiproxy ${method} ${path}: HTTP ${response.status}: ${text.trim()}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

export async function addToxic(api: string, proxy: string, toxic: Toxic): Promise<void> {
  await call(api, 'POST', `/proxies/${encodeURIComponent(proxy)}/toxics`, { toxicity: 1, stream: 'downstream', ...toxic });
}

/** Every proxy enabled again and every toxic gone (Toxiproxy's own reset). */
export async function resetToxics(api: string): Promise<void> {
  await call(api, 'POST', '/reset');
}

/** Proxy names with the toxics each has now. */
export async function listToxics(api: string): Promise<Record<string, string[]>> {
  const proxies = (await call(api, 'GET', '/proxies')) as Record<string, { toxics?: { name: string }[] }>;
  return Object.fromEntries(Object.entries(proxies).map(([name, proxy]) => [name, (proxy.toxics ?? []).map((toxic) => toxic.name)]));
}

/** Enable or disable a proxy (disabled: new connections refused, open ones cut — the `down` fault). */
export async function setProxyEnabled(api: string, proxy: string, enabled: boolean): Promise<void> {
  await call(api, 'POST', `/proxies/${encodeURIComponent(proxy)}`, { enabled });
}

export async function removeToxic(api: string, proxy: string, toxic: string): Promise<void> {
  await call(api, 'DELETE', `/proxies/${encodeURIComponent(proxy)}/toxics/${encodeURIComponent(toxic)}`);
}

export interface ProxyView {
  readonly name: string;
  readonly enabled: boolean;
  readonly upstream: string;
  readonly toxics: readonly string[];
}

/** Every proxy, whether it is enabled, and its toxics. */
export async function listProxies(api: string): Promise<ProxyView[]> {
  const proxies = (await call(api, 'GET', '/proxies')) as Record<string, { enabled: boolean; upstream: string; toxics?: { name: string }[] }>;
  return Object.entries(proxies)
    .map(([name, proxy]) => ({ name, enabled: proxy.enabled, upstream: proxy.upstream, toxics: (proxy.toxics ?? []).map((toxic) => toxic.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The proxies with a fault on them: a toxic, or disabled (`down`). */
export const faultyProxies = (proxies: readonly ProxyView[]): ProxyView[] => proxies.filter((proxy) => proxy.toxics.length > 0 || !proxy.enabled);

/** Point a proxy at another upstream (the link's edge: the local stand-in for a DNS change). */
export async function setProxyUpstream(api: string, proxy: string, upstream: string): Promise<void> {
  await call(api, 'POST', `/proxies/${encodeURIComponent(proxy)}`, { upstream });
}

/** A proxy's upstream and whether it is enabled. */
export async function readProxy(api: string, proxy: string): Promise<{ upstream: string; enabled: boolean }> {
  return (await call(api, 'GET', `/proxies/${encodeURIComponent(proxy)}`)) as { upstream: string; enabled: boolean };
}
