/**
 * Before the edge routes users to a developer's process on this host (`source: host`): is it
 * there, can containers reach it, does it answer? The usual traps, each named with its way out —
 * nothing listens (not started, or another port), it listens on 127.0.0.1 only (containers come
 * through the engine's gateway), its liveness path answers something else than 2xx.
 */
import { connect } from 'node:net';
import type { ParityConfig } from '../../../services/config/schema.js';
import { HostProcessError } from '../../../services/errors.js';
import { healthPaths, hostApps, ownHost } from '../../../services/topology/own-services.js';
import { engineGateway } from '../clients/docker-host.js';

/** Whether a TCP connection to `host:port` opens within `timeoutMs`. */
export function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** One problem per host process the stack could not route to; empty when every one answers. */
export async function hostProcessProblems(config: ParityConfig, configFile: string, gateway?: string): Promise<string[]> {
  const apps = hostApps(config);
  if (apps.length === 0) return [];
  const via = gateway ?? (await engineGateway());
  const problems: string[] = [];
  for (const app of apps) {
    const { port } = ownHost(config, app)!;
    const at = `${configFile}: services.${app}.host.port ${port}`;
    if (!(await canConnect(via, port))) {
      problems.push(
        (await canConnect('127.0.0.1', port))
          ? `${at}: your process listens on 127.0.0.1 only; containers reach it through the engine's gateway (${via}): listen on 0.0.0.0 (HOST=0.0.0.0, vite --host 0.0.0.0, next dev -H 0.0.0.0, uvicorn --host 0.0.0.0)`
          : `${at}: nothing listens there (on 127.0.0.1 or the engine's gateway ${via}); start your process first, on that port (make dev-run SERVICE=${app} -- <your command> sets PORT=${port}), or fix the port in ${configFile}`,
      );
      continue;
    }
    const live = healthPaths(config, app).live;
    const status = await fetch(`http://${via}:${port}${live}`, { signal: AbortSignal.timeout(2000) }).then((response) => String(response.status), (error: Error) => `no answer (${error.message})`);
    if (!/^2\d\d$/.test(status)) problems.push(`${at}: GET ${live} answered ${status}, expected 2xx (your liveness path: set services.${app}.health.live if it is another)`);
  }
  return problems;
}

/** Refuse (exit 2, nothing started) while a host process can't be routed to. */
export async function checkHostProcesses(config: ParityConfig, configFile: string): Promise<void> {
  const problems = await hostProcessProblems(config, configFile);
  if (problems.length) throw new HostProcessError(`the edge would route users to nothing:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
}
