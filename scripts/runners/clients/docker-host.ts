/**
 * Named client: the local Docker engine's own resources, the ones no project's *services* are.
 * The engine seam (engine.ts) runs a stack's services; some runners need the machine under it:
 *
 * - throwaway containers: the secrets' per-uid copies given away by a root container, the
 *   restore drill's isolated cluster (a container, its network and its volume);
 * - what a project left behind, found by compose's project label (`make clean`, the volumes
 *   that go with the state directory's secrets).
 *
 * On a multi-node target these are per node (a throwaway container runs on one node; a volume
 * lives on the node that made it), so they stay outside `Engine`: ARCHITECTURE.md says what a
 * Swarm target provides instead. Each verb answers as the engine does (a RunResult, never
 * throwing) unless it says otherwise; `make clean` runs the argv of `hostCommands` through its
 * own exec, so its unit test can play the engine.
 */
import { networkInterfaces } from 'node:os';
import { run, tryRun, type RunResult } from '../core/exec.js';

/** Compose's label on everything it creates for a project. */
export const projectLabel = (project: string): string => `com.docker.compose.project=${project}`;

/** The engine's commands as argv, for a caller that runs them its own way. */
export const hostCommands = {
  /** Containers with a label: `--format` given, else IDs only. */
  containers: (label: string, format?: string): string[] => (format ? ['docker', 'ps', '-a', '--filter', `label=${label}`, '--format', format] : ['docker', 'ps', '-aq', '--filter', `label=${label}`]),
  removeContainers: (ids: readonly string[]): string[] => ['docker', 'rm', '-f', '-v', ...ids],
  networks: (label: string): string[] => ['docker', 'network', 'ls', '--filter', `label=${label}`, '--format', '{{.Name}}'],
  /** The endpoints still on a network, as the engine's JSON of `.Containers`. */
  networkEndpoints: (network: string): string[] => ['docker', 'network', 'inspect', '--format', '{{json .Containers}}', network],
  removeNetwork: (network: string): string[] => ['docker', 'network', 'rm', network],
  /** Take an endpoint (a container, or a stale endpoint's name) off a network, whatever state it is in. */
  disconnectForce: (network: string, endpoint: string): string[] => ['docker', 'network', 'disconnect', '--force', network, endpoint],
  volumes: (label: string): string[] => ['docker', 'volume', 'ls', '-q', '--filter', `label=${label}`],
  removeVolume: (volume: string): string[] => ['docker', 'volume', 'rm', volume],
} as const;

/**
 * The engine's gateway to this host on its default bridge (what `host-gateway` means in
 * `extra_hosts`): a process that containers reach as host.docker.internal must listen there.
 */
export async function engineGateway(): Promise<string> {
  const [gateway = '', bridge = '', subnet = ''] = (
    await run(['docker', 'network', 'inspect', 'bridge', '-f', '{{(index .IPAM.Config 0).Gateway}}|{{index .Options "com.docker.network.bridge.name"}}|{{(index .IPAM.Config 0).Subnet}}'])
  )
    .split('|')
    .map((part) => (part === '<no value>' ? '' : part));
  if (gateway) return gateway;
  // A fresh engine (20.10) may leave the default bridge's Gateway out of its IPAM config: the
  // bridge interface's own address is the gateway, else the subnet's first address.
  const onInterface = networkInterfaces()[bridge || 'docker0']?.find((address) => address.family === 'IPv4')?.address;
  if (onInterface) return onInterface;
  const [base] = subnet.split('/');
  return base ? base.replace(/\.\d+$/, '.1') : '';
}

const lines = (text: string) => text.split('\n').map((line) => line.trim()).filter(Boolean);

/** Names of the volumes with a label; throws `CommandError` when the engine refuses. */
export async function volumesLabelled(label: string): Promise<string[]> {
  return lines(await run(hostCommands.volumes(label)));
}

/** Each volume's name and `CreatedAt` (the engine's word; in fact its data directory's last change); throws when one is gone. */
export async function volumesCreatedAt(names: readonly string[]): Promise<{ readonly name: string; readonly changedAt: string }[]> {
  if (names.length === 0) return [];
  return lines(await run(['docker', 'volume', 'inspect', '--format', '{{.Name}} {{.CreatedAt}}', ...names])).map((line) => {
    const [name, ...changed] = line.split(' ');
    return { name: name!, changedAt: changed.join(' ') };
  });
}

export const createNetwork = (name: string, label: string): Promise<RunResult> => tryRun(['docker', 'network', 'create', '--label', label, name]);
export const removeNetwork = (name: string): Promise<RunResult> => tryRun(hostCommands.removeNetwork(name));
/** Attach a running container to a network, reachable there by `alias` too. */
export const connectNetwork = (network: string, container: string, alias?: string): Promise<RunResult> => tryRun(['docker', 'network', 'connect', ...(alias ? ['--alias', alias] : []), network, container]);
/** Take a container off a network (`force`: whatever state it is in). */
export const disconnectNetwork = (network: string, container: string, options: { readonly force?: boolean } = {}): Promise<RunResult> =>
  tryRun(['docker', 'network', 'disconnect', ...(options.force ? ['-f'] : []), network, container]);

export const createVolume = (name: string, label: string): Promise<RunResult> => tryRun(['docker', 'volume', 'create', '--label', label, name]);
export const removeVolume = (name: string): Promise<RunResult> => tryRun(['docker', 'volume', 'rm', '-f', name]);

/** A container no compose file describes. */
export interface LooseContainer {
  readonly image: string;
  readonly command?: readonly string[];
  readonly entrypoint?: string;
  readonly name?: string;
  readonly label?: string;
  /** A network name, or 'none'. */
  readonly network?: string;
  readonly hostname?: string;
  readonly user?: string;
  /** `source:target[:ro]`, a host path or a volume name. */
  readonly mounts?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

function runArgs(spec: LooseContainer): string[] {
  return [
    ...(spec.name ? ['--name', spec.name] : []),
    ...(spec.label ? ['--label', spec.label] : []),
    ...(spec.network ? ['--network', spec.network] : []),
    ...(spec.hostname ? ['--hostname', spec.hostname] : []),
    ...(spec.user ? ['--user', spec.user] : []),
    ...(spec.mounts ?? []).flatMap((mount) => ['-v', mount]),
    ...Object.entries(spec.env ?? {}).flatMap(([key, value]) => ['-e', `${key}=${value}`]),
    ...(spec.entrypoint ? ['--entrypoint', spec.entrypoint] : []),
    spec.image,
    ...(spec.command ?? []),
  ];
}

/** Run a container to its end and remove it (`docker run --rm`); throws `CommandError` when it fails. */
export async function runOnce(spec: LooseContainer): Promise<string> {
  return run(['docker', 'run', '--rm', ...runArgs(spec)]);
}

/** Start a container in the background (`docker run -d`); stdout is its ID. */
export const runDetached = (spec: LooseContainer): Promise<RunResult> => tryRun(['docker', 'run', '-d', ...runArgs(spec)]);

/** Remove a container and its anonymous volumes, running or not. */
export const removeContainer = (name: string): Promise<RunResult> => tryRun(hostCommands.removeContainers([name]));

/** A container's full ID (the cgroup's name), from a short ID or a name; throws when it is gone. */
export async function fullContainerId(container: string): Promise<string> {
  return (await run(['docker', 'inspect', '-f', '{{.Id}}', container])).trim();
}
