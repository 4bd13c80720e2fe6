/**
 * Talking to a stub that publishes no port: over its address on the project's network (the
 * engine's bridge is reachable from this host on Linux), else through `docker compose exec`
 * with a one-line Node fetch inside the container. The network path costs nothing in the
 * container; the exec path starts a Node process there (~100 ms of CPU), which a deploy's
 * probes would otherwise add to the users' tail latency on a small machine.
 */
import { STUB_PORT } from '../../../services/contracts/index.js';
import { tryRun } from '../core/exec.js';
import { engineOf } from './engine-of.js';
import { type ComposeTarget } from './engine.js';

/** Addresses and HTTP ports found so far, by project and service; a recreated container drops its entry (`forgetStubAddresses`). */
const addresses = new Map<string, { readonly address: string; readonly port: number }>();

/** The label the model puts on a service's container with its HTTP port (a developer's image may use another than the stubs'). */
const HTTP_PORT_LABEL = 'dev.parity.http-port';

/** The running container's address on its first network and its HTTP port, or undefined (not running, no network). */
export async function stubEndpoint(target: ComposeTarget, service: string): Promise<{ readonly address: string; readonly port: number } | undefined> {
  const key = `${target.project}/${service}`;
  const known = addresses.get(key);
  if (known) return known;
  const [id] = await engineOf(target).containerIds(service);
  if (!id) return undefined;
  const result = await tryRun(['docker', 'inspect', '-f', `{{index .Config.Labels "${HTTP_PORT_LABEL}"}}|{{if .State.Running}}{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}{{end}}`, id]);
  const [label = '', networks = ''] = result.code === 0 ? result.stdout.trim().split('|') : [];
  const address = networks.trim().split(/\s+/)[0];
  // A container without the label (made before it existed) is a stub: the stubs' port.
  const endpoint = address ? { address, port: /^\d+$/.test(label) ? Number(label) : STUB_PORT } : undefined;
  if (endpoint) addresses.set(key, endpoint);
  return endpoint;
}

/** The running container's address on its first network, or undefined (not running, no network). */
export async function stubAddress(target: ComposeTarget, service: string): Promise<string | undefined> {
  return (await stubEndpoint(target, service))?.address;
}

/** Forget the addresses of containers about to be recreated or stopped; without services, every one of the project (a stack started again). */
export function forgetStubAddresses(target: ComposeTarget, services?: readonly string[]): void {
  if (services) for (const service of services) addresses.delete(`${target.project}/${service}`);
  else for (const key of [...addresses.keys()]) if (key.startsWith(`${target.project}/`)) addresses.delete(key);
}

/** The body of GET `path` on a stub; empty, with `error` saying why, when it could not be read. */
export async function fetchStub(target: ComposeTarget, service: string, path: string): Promise<{ readonly text: string; readonly error?: string }> {
  const endpoint = await stubEndpoint(target, service);
  if (endpoint) {
    try {
      const response = await fetch(`http://${endpoint.address}:${endpoint.port}${path}`, { signal: AbortSignal.timeout(3000) });
      return { text: await response.text() };
    } catch {
      // Not reachable from this host (a VM-backed engine), or the container was replaced: ask
      // from inside the container, and look the address up again next time.
      forgetStubAddresses(target, [service]);
    }
  }
  const result = await engineOf(target).tryExec(service, ['node', '-e', `fetch('http://127.0.0.1:${STUB_PORT}${path}').then(r => r.text()).then(t => process.stdout.write(t))`]);
  return result.code === 0 ? { text: result.stdout } : { text: '', error: result.stderr.trim() || result.stdout.trim() || `exit ${result.code}` };
}
