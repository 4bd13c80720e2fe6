/**
 * `make dev-env`: the environment a platform service's container has in the stack, rewritten for
 * a process on the developer's host (issue #22, host mode). Pure: the container's environment
 * comes from the model, the host's addresses from the caller (the ports the engine published).
 *
 * - The data stores: through their published loopback ports (the writer and reader endpoints,
 *   Redis, S3), the same role and ACL user as the container's.
 * - Secrets stay files: `*_FILE` points at the state directory's copy (0600, the runner's user),
 *   so a `make rotate-secrets` reaches the host process as it reaches the container.
 * - `PORT`: where the process listens (`services.<name>.host.port`, else the stub's port), and the
 *   service's own `env` from parity.yaml on top.
 */
import type { AppService, ParityConfig } from '../config/schema.js';
import { UsageError } from '../errors.js';
import { STUB_PORT } from '../contracts/http.js';
import { fillTemplate, templateValues } from '../topology/own-services.js';

/** What the engine published on this host for the data stores the service uses. */
export interface HostEndpoints {
  readonly writer: number;
  readonly reader?: number;
  readonly redis?: number;
  readonly s3?: number;
}

export const DEV_ENV_FORMATS = ['dotenv', 'sh', 'json'] as const;
export type DevEnvFormat = (typeof DEV_ENV_FORMATS)[number];

/** Settings a host process can't use (the container's view of other containers), and why. */
const CONTAINER_ONLY: Readonly<Record<string, string>> = {
  IVOR_URL: 'the frontend reaches the APIs of its color inside the stack; from the host, use the edge',
  EVENTS_URL: 'the frontend reaches the APIs of its color inside the stack; from the host, use the edge',
  NEWSROOM_URL: 'the frontend reaches the APIs of its color inside the stack; from the host, use the edge',
};

const LOOPBACK = '127.0.0.1';

/**
 * The host's environment for `service`, from the container's (`container`: a color's environment
 * as the model renders it); `secretsDir`: the state directory's secrets. Returns the variables and
 * the notes to print beside them (a setting left out, and why).
 */
export function hostEnvironment(service: AppService, container: Readonly<Record<string, string>>, config: ParityConfig, secretsDir: string, ports: HostEndpoints): { readonly env: Record<string, string>; readonly notes: string[] } {
  const env: Record<string, string> = {};
  const notes: string[] = [];
  for (const [key, value] of Object.entries(container)) {
    if (key in CONTAINER_ONLY) {
      notes.push(`${key} left out: ${CONTAINER_ONLY[key]}`);
      continue;
    }
    if (key.endsWith('_FILE') && value.startsWith('/run/secrets/')) env[key] = `${secretsDir}/${value.slice('/run/secrets/'.length)}`;
    else env[key] = value;
  }
  if (env.DATABASE_HOST !== undefined) {
    env.DATABASE_HOST = LOOPBACK;
    env.DATABASE_PORT = String(ports.writer);
  }
  if (env.DATABASE_REPLICA_HOST !== undefined) {
    if (ports.reader === undefined) {
      delete env.DATABASE_REPLICA_HOST;
      delete env.DATABASE_REPLICA_PORT;
      notes.push('DATABASE_REPLICA_HOST left out: the reader endpoint publishes no port on this host (reads go to the writer)');
    } else {
      env.DATABASE_REPLICA_HOST = LOOPBACK;
      env.DATABASE_REPLICA_PORT = String(ports.reader);
    }
  }
  if (env.REDIS_URL !== undefined) {
    if (ports.redis === undefined) throw new UsageError(`${service} uses Redis, but Redis publishes no port on this host (is the stack up?)`);
    env.REDIS_URL = env.REDIS_URL.replace(/@[^/@]+$/, `@${LOOPBACK}:${ports.redis}`);
  }
  if (env.S3_ENDPOINT !== undefined) {
    if (ports.s3 === undefined) throw new UsageError(`${service} uses the S3 store, but it publishes no port on this host (is the stack up?)`);
    env.S3_ENDPOINT = `http://${LOOPBACK}:${ports.s3}`;
  }
  const own = config.services[service];
  env.PORT = String(own?.host?.port ?? STUB_PORT);
  delete env.COLOR;
  Object.assign(env, own?.env ?? {});
  // envMap again, from the host's values (the container's copy names the stack's hosts).
  const values = templateValues(env, Number(env.PORT));
  for (const [name, template] of Object.entries(own?.envMap ?? {})) env[name] = fillTemplate(template, values);
  return { env, notes };
}

/** A shell word in single quotes. */
const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/** The variables as a file: `dotenv` (KEY=value, quoted when needed), `sh` (export lines) or `json`. */
export function formatEnvironment(env: Readonly<Record<string, string>>, format: DevEnvFormat): string {
  const keys = Object.keys(env).sort();
  if (format === 'json') return `${JSON.stringify(Object.fromEntries(keys.map((key) => [key, env[key]])), null, 2)}\n`;
  if (format === 'sh') return keys.map((key) => `export ${key}=${quote(env[key]!)}\n`).join('');
  return keys.map((key) => `${key}=${/^[A-Za-z0-9_./:@,+-]*$/.test(env[key]!) ? env[key] : JSON.stringify(env[key])}\n`).join('');
}
