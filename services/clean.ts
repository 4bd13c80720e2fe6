/**
 * `make clean`'s judgements, pure: the engine's refusal to remove a network that "has active
 * endpoints" (on engine 20.10 an endpoint can outlive its container: nothing is attached, yet
 * the network stays), the endpoints `docker network inspect` lists, and what is left when clean
 * ends, each with the command that removes it.
 */

/**
 * The networks the engine refused to remove because endpoints are still attached, from docker's
 * wording ("error while removing network: network parity_apps id 4a3b… has active endpoints")
 * or compose's ("failed to remove network parity_apps: … has active endpoints").
 */
export function networksWithActiveEndpoints(output: string): string[] {
  const found = new Set<string>();
  for (const line of output.split('\n').filter((text) => /has active endpoints/.test(text))) {
    const named = /network ([\w.-]+) id [0-9a-f]+ has active endpoints/.exec(line) ?? /(?:removing|remove) network:? (?!network\b)([\w.-]+)/.exec(line);
    if (named) found.add(named[1]!);
  }
  return [...found];
}

/** An endpoint on a network: the name `docker network disconnect` takes, and inspect's key (a container ID, or `ep-<id>` when no container is behind it). */
export interface Endpoint {
  readonly name: string;
  readonly key: string;
}

/**
 * The endpoints from `docker network inspect --format '{{json .Containers}}' NETWORK`: each
 * by its name (the container's name, kept by a stale endpoint whose container is gone; the
 * engine's `disconnect --force` finds the endpoint by it), else by its key.
 */
export function parseEndpoints(json: string): Endpoint[] {
  const text = json.trim();
  if (!text || text === 'null') return [];
  const containers = JSON.parse(text) as Record<string, { Name?: string } | null> | null;
  return Object.entries(containers ?? {})
    .map(([key, value]) => ({ key, name: value?.Name || key }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Something `make clean` could not remove. */
export type Leftover =
  | { readonly kind: 'container'; readonly project: string; readonly id: string; readonly name: string }
  | { readonly kind: 'network'; readonly project: string; readonly name: string; readonly endpoints: readonly string[] }
  | { readonly kind: 'volume'; readonly project: string; readonly name: string }
  | { readonly kind: 'state'; readonly path: string }
  /** The engine could not be asked (the listing itself failed): unknown whether anything is left. */
  | { readonly kind: 'unchecked'; readonly what: string; readonly command: string; readonly error: string };

/** The command that removes a leftover by hand. */
export function removalCommand(leftover: Leftover): string {
  switch (leftover.kind) {
    case 'container':
      return `docker rm -f -v ${leftover.name || leftover.id}`;
    case 'network':
      return [...leftover.endpoints.map((endpoint) => `docker network disconnect --force ${leftover.name} ${endpoint}`), `docker network rm ${leftover.name}`].join(' && ');
    case 'volume':
      return `docker volume rm ${leftover.name}`;
    case 'state':
      return `rm -rf ${leftover.path}`;
    case 'unchecked':
      return leftover.command;
  }
}

function describeLeftover(leftover: Leftover): string {
  switch (leftover.kind) {
    case 'container':
      return `container ${leftover.name || leftover.id} (project ${leftover.project})`;
    case 'network':
      return `network ${leftover.name} (project ${leftover.project})${leftover.endpoints.length ? `, endpoints still attached: ${leftover.endpoints.join(', ')}` : ''}`;
    case 'volume':
      return `volume ${leftover.name} (project ${leftover.project}), with its data`;
    case 'state':
      return `${leftover.path}/`;
    case 'unchecked':
      return `${leftover.what}: not checked (${leftover.error}); see`;
  }
}

/**
 * Why `make clean` ends with exit 1: each thing left with the command that removes it, the
 * failures met on the way, and, for a network, what clears an endpoint the engine won't let go.
 */
export function describeLeftovers(leftovers: readonly Leftover[], failures: readonly string[]): string {
  const lines = leftovers.map((leftover) => `  - ${describeLeftover(leftover)}: ${removalCommand(leftover)}`);
  const networks = leftovers.some((leftover) => leftover.kind === 'network');
  // With the secrets gone, make up refuses these volumes (their passwords are the old ones); with them kept, it would use them.
  const volumes = leftovers.some((leftover) => leftover.kind === 'volume') && !leftovers.some((leftover) => leftover.kind === 'state' && /[\\/]secrets$/.test(leftover.path));
  return [
    `make clean removed the rest, but not these (${leftovers.length}); remove each with the command after it, then make clean again to check:`,
    ...lines,
    ...(failures.length ? ['On the way:', ...failures.map((failure) => `  - ${failure}`)] : []),
    ...(networks
      ? ['A network whose endpoints the engine keeps after disconnect --force (engine 20.10\'s stale endpoints) is freed by restarting the engine (it restarts every container on this engine): sudo systemctl restart docker, or where make engine started dockerd itself (no systemd), sudo pkill dockerd && make engine; then docker network rm (seen 2026-12-07 after drills had SIGKILLed containers: the network listed no container, yet had active endpoints; an engine restart freed it).']
      : []),
    ...(volumes ? ['Until these volumes are gone, make up refuses to start on them (exit 2: their data and passwords are the old stack\'s, whose secrets clean removed); a DR region\'s, with dr.enabled off, get a warning line.'] : []),
  ].join('\n');
}
