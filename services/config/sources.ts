/**
 * Cross-field rules for the platform services' sources (`services.<name>.source`): what each
 * source needs, what it must not carry, host ports that would clash, `envMap` templates, and —
 * through the caller's `exists` (the validator stays free of I/O) — build contexts, Dockerfiles
 * and secret files that are not there. Every problem is returned; nothing is thrown.
 */
import { suggest } from '../errors.js';
import { ENV_TEMPLATE_VALUES, APP_SERVICES, type AppService, type ParityConfig, type ServiceSourceConfig } from './schema.js';

export interface SourceIssue {
  readonly path: string;
  readonly message: string;
}

/** Asks whether a path (relative to the config file's folder) exists, and whether it is a folder. */
export type PathProbe = (relativePath: string) => 'file' | 'folder' | undefined;

/** Why auth stays a stub, said when someone gives it a source. */
export const AUTH_STAYS_A_STUB =
  'auth stays a stub: it signs every token the other services verify (its Ed25519 keys rotate with make rotate-secrets), owns the users and the audit log, and backs the edge\'s forwardAuth; ' +
  'a real auth would need the same key files and JWKS, the /verify answer Traefik reads, and the login backoff the security suite attacks';

/** The services whose source is not the stub, with their settings. */
export function ownSources(config: ParityConfig): [AppService, ServiceSourceConfig][] {
  return APP_SERVICES.flatMap((name) => {
    const own = config.services[name];
    return own && (own.source ?? 'stub') !== 'stub' ? [[name, own] as [AppService, ServiceSourceConfig]] : [];
  });
}

/** Every rule about `services.<name>` sources; `publishedPorts` are the stack's own host ports (path → port). */
export function checkServiceSources(config: ParityConfig, publishedPorts: readonly { readonly path: string; readonly port: number }[], exists?: PathProbe): SourceIssue[] {
  const issues: SourceIssue[] = [];
  const hostPorts = new Map<number, string>(publishedPorts.map(({ path, port }) => [port, path]));
  for (const name of APP_SERVICES) {
    const own = config.services[name];
    if (!own) continue;
    const at = (field: string) => `services.${name}.${field}`;
    const source = own.source ?? 'stub';
    const needs = (field: 'image' | 'build' | 'host', what: string) => {
      if (source === field && own[field] === undefined) issues.push({ path: at('source'), message: `source: ${field} needs ${at(field)} (${what})` });
      if (source !== field && own[field] !== undefined) {
        issues.push({ path: at(field), message: `${field} is read only with source: ${field} (this service's source is ${source})${field === 'build' && own.build?.watch ? '; watch rules need a build' : ''}` });
      }
    };
    needs('image', 'an image on the engine, e.g. blkout/events:dev');
    needs('build', 'a context folder with a Dockerfile');
    needs('host', 'the port your process listens on, e.g. port: 5173');
    if (source === 'host' && own.port !== undefined) issues.push({ path: at('port'), message: 'port is the port in a container; a host process gives host.port instead' });
    if (own.host?.name !== undefined && (own.host.routing ?? 'all') !== 'header') issues.push({ path: at('host.name'), message: 'name is read only with routing: header (the X-Parity-Dev header\'s value that reaches your process)' });

    if (own.host?.port !== undefined && source === 'host') {
      const clash = hostPorts.get(own.host.port);
      if (clash) {
        const by = clash.startsWith('services.') ? `already given as ${clash}` : `already published by the stack (${clash})`;
        issues.push({ path: at('host.port'), message: `port ${own.host.port} is ${by}; your process must listen on another one` });
      }
      else hostPorts.set(own.host.port, at('host.port'));
    }

    own.build?.watch?.forEach((rule, index) => {
      if ((rule.action === 'sync' || rule.action === 'sync+restart') && !rule.target) {
        issues.push({ path: at(`build.watch[${index}].target`), message: `action ${rule.action} needs target: the path in the container the files go to (e.g. /app/src)` });
      }
      if (rule.action === 'rebuild' && rule.target) issues.push({ path: at(`build.watch[${index}].target`), message: 'a rebuild replaces the image: target is read only by sync and sync+restart' });
    });

    for (const [variable, template] of Object.entries(own.envMap ?? {})) {
      for (const [, value] of template.matchAll(/\{([^{}]*)\}/g)) {
        if (!(ENV_TEMPLATE_VALUES as readonly string[]).includes(value!)) {
          const hint = suggest(value!, ENV_TEMPLATE_VALUES);
          issues.push({ path: at(`envMap.${variable}`), message: `unknown value {${value}}${hint ? ` (did you mean {${hint}}?)` : ''}; expected one of: ${ENV_TEMPLATE_VALUES.map((v) => `{${v}}`).join(', ')}` });
        }
      }
      if (own.env?.[variable] !== undefined) issues.push({ path: at(`envMap.${variable}`), message: `${variable} is also set in env: give it once` });
    }

    if (!exists) continue;
    if (source === 'build' && own.build) {
      const context = exists(own.build.context);
      const dockerfile = `${own.build.context.replace(/\/$/, '')}/${own.build.dockerfile ?? 'Dockerfile'}`;
      if (context !== 'folder') issues.push({ path: at('build.context'), message: `${own.build.context} ${context === 'file' ? 'is a file' : 'does not exist'}; expected a folder (relative to parity.yaml) holding your service's source` });
      else if (exists(dockerfile) !== 'file') issues.push({ path: at(own.build.dockerfile ? 'build.dockerfile' : 'build.context'), message: `no Dockerfile at ${dockerfile}${own.build.dockerfile ? '' : ' (set build.dockerfile if it has another name)'}` });
      own.build.watch?.forEach((rule, index) => {
        if (context === 'folder' && !exists(`${own.build!.context.replace(/\/$/, '')}/${rule.path}`)) {
          issues.push({ path: at(`build.watch[${index}].path`), message: `${rule.path} does not exist in the build context ${own.build!.context}` });
        }
      });
    }
    for (const [secret, file] of Object.entries(own.secrets ?? {})) {
      if (exists(file) !== 'file') issues.push({ path: at(`secrets.${secret}`), message: `${file} ${exists(file) === 'folder' ? 'is a folder' : 'does not exist'}; expected the secret's file (relative to parity.yaml, kept out of git)` });
    }
  }
  return issues;
}


