/**
 * Topology → the compose file (compose-spec). Pure; key order is fixed by `renderYaml`.
 */
import { PROJECT, STATE } from '../topology/common.js';
import { buildTopology, type Topology } from '../topology/index.js';
import type { ParityConfig } from '../config/schema.js';
import { hasDr } from '../topology/region.js';
import { linkComposeObject, linkProxiesFile } from '../topology/link.js';
import { NETWORKS, networksOf, type ServiceSpec } from '../topology/types.js';
import { Document } from 'yaml';
import { FRONT_PROFILE, frontNetwork } from '../topology/front.js';
import { configHash, renderFile, type RenderedFile } from './files.js';
import { secretCopyPath, secretReader, secretSource } from '../topology/hardening.js';
import { GENERATED_BY, generatedComment, renderYaml } from './yaml.js';
import { renderStack } from './stack.js';
import { healthcheckOf, imageOf, withGoMemLimit } from './service-parts.js';

/** The front network's fixed subnet (Traefik's address on it is fixed too). */
function frontIpam(topology: Topology): object {
  const network = frontNetwork(topology.config, topology.region);
  return { ipam: { config: [{ subnet: network.subnet, gateway: network.gateway }] } };
}

/** A list of networks, or a mapping when the service has aliases or a fixed address on one; none on the host network. */
function renderNetworks(service: ServiceSpec): unknown {
  if (service.networkMode === 'host') return undefined;
  const networks = networksOf(service);
  if (!service.aliases?.length && !service.addresses) return [...networks];
  return Object.fromEntries(
    networks.map((network) => [
      network,
      { ...(service.aliases?.length ? { aliases: [...service.aliases] } : {}), ...(service.addresses?.[network] ? { ipv4_address: service.addresses[network] } : {}) },
    ]),
  );
}


function renderService(service: ServiceSpec, topology: Topology, files: readonly RenderedFile[]): Record<string, unknown> {
  const hash = configHash(service, files);
  const resources = topology.config.resources[service.logical as keyof typeof topology.config.resources];
  const dependsOn = Object.entries(service.dependsOn ?? {});
  return {
    image: imageOf(service),
    // source: build — compose builds `image` from the developer's context; `develop.watch` is what `make dev` follows.
    build: service.build ? { ...service.build } : undefined,
    develop: service.watch?.length ? { watch: service.watch.map((rule) => ({ ...rule, ...(rule.ignore ? { ignore: [...rule.ignore] } : {}) })) } : undefined,
    entrypoint: service.entrypoint,
    command: service.command,
    environment: withGoMemLimit(service, resources?.memory ?? service.memory),
    // Not required: before the first `make up` writes them, a color runs as VERSION "dev".
    env_file: service.envFile?.length ? service.envFile.map((path) => ({ path, required: false })) : undefined,
    ports: service.ports?.map((port) => `${port.bind}:${port.host ?? ''}:${port.container}`),
    volumes: service.volumes,
    // Long syntax: the copy owned by the reading uid, mounted under the secret's own name.
    secrets:
      service.secrets?.length || service.extraSecrets?.length
        ? [...(service.secrets ?? []).map((name) => ({ source: secretSource(name, secretReader(service)), target: name })), ...(service.extraSecrets ?? []).map((secret) => ({ source: secret.source, target: secret.name }))]
        : undefined,
    depends_on: dependsOn.length ? Object.fromEntries(dependsOn.map(([name, condition]) => [name, { condition }])) : undefined,
    healthcheck: healthcheckOf(service),
    user: service.user,
    // Every container: no privilege gains through setuid binaries, no capability it isn't given back.
    security_opt: ['no-new-privileges:true'],
    cap_drop: ['ALL'],
    cap_add: service.capAdd?.length ? [...service.capAdd] : undefined,
    read_only: service.readOnly || undefined,
    tmpfs: service.tmpfs?.length ? [...service.tmpfs] : undefined,
    dns_opt: service.dnsOptions?.length ? service.dnsOptions : undefined,
    extra_hosts: service.extraHosts?.length ? [...service.extraHosts] : undefined,
    network_mode: service.networkMode,
    networks: renderNetworks(service),
    mem_limit: resources?.memory ?? service.memory,
    cpus: resources?.cpus,
    labels: {
      'dev.parity.logical': service.logical,
      'dev.parity.tier': service.tier,
      ...(service.color ? { 'dev.parity.color': service.color } : {}),
      // Where the runners ask it for /health and /metrics (scripts/runners/clients/stub-http.ts); its probe, when judged from outside.
      ...(service.httpPort ? { 'dev.parity.http-port': String(service.httpPort) } : {}),
      ...(service.probedBy ? { 'dev.parity.probed-by': service.probedBy } : {}),
      ...(hash ? { 'dev.parity.config-hash': hash } : {}),
    },
    restart: service.job ? 'no' : 'unless-stopped',
  };
}

/** The compose file as an object; `files` are the topology's files, rendered (for the config hashes). */
export function renderComposeObject(topology: Topology, files: readonly RenderedFile[] = renderFiles(topology)): Record<string, unknown> {
  return {
    name: topology.region === 'dr' ? `${PROJECT}-dr` : PROJECT,
    services: Object.fromEntries(topology.services.map((service) => [service.name, renderService(service, topology, files)])),
    networks: Object.fromEntries(
      NETWORKS.filter((network) => topology.services.some((service) => service.networkMode !== 'host' && networksOf(service).includes(network))).map((network) => [network, network === 'front' ? frontIpam(topology) : {}]),
    ),
    volumes: Object.fromEntries(topology.volumes.map((volume) => [volume, {}])),
    secrets: Object.fromEntries([
      ...topology.secrets.flatMap((secret) =>
        [...new Set(topology.services.filter((service) => service.secrets?.includes(secret)).map(secretReader))].sort((a, b) => a - b).map((uid) => [secretSource(secret, uid), { file: `${STATE}/${secretCopyPath(secret, uid)}` }] as const),
      ),
      // A developer's own secrets: one per service and name, shared by both colors, from their file.
      ...[...new Map(topology.services.flatMap((service) => service.extraSecrets ?? []).map((secret) => [secret.source, { file: secret.file }])).entries()].sort(([a], [b]) => a.localeCompare(b)),
    ]),
  };
}

export function renderCompose(topology: Topology, files: readonly RenderedFile[] = renderFiles(topology)): string {
  return renderYaml(renderComposeObject(topology, files), 'services/ (renderCompose)');
}

/** The topology's files beside compose.yaml, as text. */
export function renderFiles(topology: Topology): RenderedFile[] {
  return topology.files.map(renderFile);
}

/**
 * An overlay for tests and CI: every published port becomes an ephemeral 127.0.0.1 port
 * (`!override`), so a test stack runs beside a developer's `make up` without clashes.
 */
export function renderComposeTestOverlay(topology: Topology): string {
  const doc = new Document({ services: {} });
  for (const service of [...topology.services].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    // The front binds fixed host ports on the host network: test stacks run side by side without it
    // (their clients use Traefik's ephemeral ports), and only start it when a suite asks (profile).
    if (service.networkMode === 'host') {
      doc.setIn(['services', service.name, 'profiles'], doc.createNode([FRONT_PROFILE]));
      continue;
    }
    if (!service.ports?.length) continue;
    const ports = doc.createNode(service.ports.map((port) => `127.0.0.1::${port.container}`));
    ports.tag = '!override';
    doc.setIn(['services', service.name, 'ports'], ports);
  }
  // Without the front, the front network needs no fixed subnet: test stacks on the same ports would share it.
  const traefik = topology.services.find((service) => service.addresses?.front);
  if (traefik) {
    const reset = doc.createNode({});
    reset.tag = '!reset';
    doc.setIn(['networks', 'front', 'ipam'], reset);
    const networks = doc.createNode([...networksOf(traefik)]);
    networks.tag = '!override';
    doc.setIn(['services', traefik.name, 'networks'], networks);
  }
  return `# GENERATED by \`${GENERATED_BY}\` from services/ (renderComposeTestOverlay): do not edit.\n# Test overlay: docker compose -f compose.yaml -f compose.test.yaml …\n${doc.toString({ lineWidth: 0 })}`;
}

/**
 * Every file `make gen` writes into compose/, by path (sorted). `rendered` are the topology's
 * files, when the caller has them already (rendering them is most of `make gen`'s work).
 */
export function renderAll(topology: Topology, rendered: readonly RenderedFile[] = renderFiles(topology)): Map<string, RenderedFile> {
  const files: RenderedFile[] = [
    { path: 'compose.yaml', content: renderCompose(topology, rendered), executable: false },
    { path: 'compose.test.yaml', content: renderComposeTestOverlay(topology), executable: false },
    // The Swarm stack: the primary region's only (a DR region on Swarm isn't modelled yet).
    ...(topology.region === 'primary' ? [{ path: 'stack.yaml', content: renderStack(topology, rendered), executable: false }] : []),
    ...rendered,
  ];
  return new Map(files.map((file): [string, RenderedFile] => [file.path, file]).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** With a DR region: its project under `dr/`, and the link between the regions under `link/`. */
export function renderRegionFiles(config: ParityConfig): RenderedFile[] {
  if (!hasDr(config)) return [];
  const dr = buildTopology(config, 'dr');
  const drFiles = [...renderAll(dr).values()].map((file) => ({ ...file, path: `dr/${file.path}` }));
  const proxies = linkProxiesFile();
  return [
    ...drFiles,
    { path: 'link/compose.yaml', content: renderYaml(linkComposeObject(config), 'services/topology/link.ts (linkComposeObject)'), executable: false },
    { path: `link/${proxies.path}`, content: `${JSON.stringify(proxies.value, null, 2)}\n`, executable: false },
  ];
}

/** Everything `make gen` writes for a config: the primary's files, and with a DR region its project and the link's. */
export function renderOutput(config: ParityConfig, topology: Topology = buildTopology(config), rendered: readonly RenderedFile[] = renderFiles(topology)): Map<string, RenderedFile> {
  const files = renderAll(topology, rendered);
  for (const file of renderRegionFiles(config)) files.set(file.path, file);
  return files;
}

/**
 * `make dev`'s compose override for a service whose rebuilds the contract gates: both colors'
 * `develop.watch` replaced (`!override`) by the rules compose may act on alone (sync,
 * sync+restart); the rebuild rules are Parity's, which builds, runs the contract, and only then
 * recreates the colors (scripts/runners/dev/dev-watch.ts). Undefined when compose has nothing left
 * to watch.
 */
export function renderWatchOverride(services: readonly ServiceSpec[]): string | undefined {
  const kept = services.map((service) => [service.name, (service.watch ?? []).filter((rule) => rule.action !== 'rebuild')] as const);
  if (kept.every(([, rules]) => rules.length === 0)) return undefined;
  const doc = new Document({ services: Object.fromEntries(kept.map(([name, rules]) => [name, { develop: { watch: rules.map((rule) => ({ ...rule, ...(rule.ignore ? { ignore: [...rule.ignore] } : {}) })) } }])) });
  for (const [name] of kept) {
    const develop = doc.getIn(['services', name, 'develop'], true) as { tag?: string } | undefined;
    if (develop) develop.tag = '!override';
  }
  return `${generatedComment('services/render/compose.ts (renderWatchOverride), for make dev')}\n${doc.toString({ lineWidth: 0, indent: 2 })}`;
}
