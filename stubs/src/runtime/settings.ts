/**
 * A stub's settings, read once at start from the environment (compose passes them; secrets
 * arrive as `<NAME>_FILE` paths). Every problem is reported together and the process exits 2
 * before it listens, so a misconfigured color never passes a deploy gate.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  ParityError,
  parseFault,
  STUB_PORT,
  STUB_SERVICES,
  VERSION_PATTERN,
  VERSION_RULE,
  type Fault,
  type StubPlainEnvironment,
  type StubSecret,
  type StubService,
} from '../../../services/contracts/index.js';

import { parseKeySet, type JwkSet } from './keys.js';

export { parseFault, STUB_SERVICES, type Fault, type StubService };

export interface DatabaseSettings {
  readonly host: string;
  /** The streaming replica; reads go there unless the user just wrote. Absent → reads use the primary. */
  readonly replicaHost?: string;
  readonly port: number;
  /** The replica's port. @default port */
  readonly replicaPort: number;
  readonly name: string;
  readonly user: string;
  readonly password: string;
  /** Where `password` came from: read again for every new connection, so `make rotate-secrets` needs no restart. */
  readonly passwordFile?: string;
}

export interface S3Settings {
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly region: string;
}

export interface BreakerSettings {
  /** How long an open breaker waits before letting a trial request through. Architecture: 60 s. */
  readonly resetMs: number;
  /** Failure share that opens a breaker; the architecture keeps it closed above 95 % success. */
  readonly errorThresholdPercentage: number;
  /** Calls in the rolling window before the share is judged (one early failure doesn't open it). */
  readonly volumeThreshold: number;
  /** Per-call timeouts, ms: a slow dependency costs a user at most this long, and nothing once the breaker is open. */
  readonly timeoutsMs: { readonly dbWrite: number; readonly dbRead: number; readonly redis: number; readonly s3: number; readonly upstream: number };
  /** A replica read not answered within this long is asked of the primary too; the first answer wins (0: never). */
  readonly hedgeReadsMs: number;
}

export interface Settings {
  readonly service: StubService;
  readonly color: string;
  /** Shown as `X-Parity-Version` on every response so blue and green can be told apart. */
  readonly version: string;
  readonly port: number;
  readonly fault: Fault;
  readonly database?: DatabaseSettings;
  readonly redisUrl?: string;
  /**
   * The file the Redis password came from (`REDIS_PASSWORD_FILE`), read again on every reconnect,
   * so a rotated password (`make rotate-secrets`) is used from the next connection on. Absent when
   * the password came from `REDIS_PASSWORD` or there is none. @default none
   */
  readonly redisPasswordFile?: string;
  readonly s3?: S3Settings;
  /** Ed25519 private JWK set (auth signs with its first key); `file` is re-read for rotations. */
  readonly signingKeys?: { readonly set: JwkSet; readonly file?: string };
  /** Ed25519 public JWK set every service verifies tokens with; `file` is re-read for rotations. */
  readonly publicKeys?: { readonly set: JwkSet; readonly file?: string };
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  /** Login backoff (auth): failures counted per email and per client address within `windowSeconds`. */
  readonly lockout: { readonly maxFailures: number; readonly maxFailuresPerAddress: number; readonly windowSeconds: number };
  /** The admin account auth creates at start (its password is a generated secret). */
  readonly admin?: { readonly email: string; readonly password: string };
  /** Where the frontend reaches the APIs (cross-service calls, each behind a breaker). */
  readonly upstreams: Readonly<Record<'ivor' | 'events' | 'newsroom', string>>;
  readonly breakers: BreakerSettings;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug';
}

/** Settings that can't be used; lists every variable at fault. */
export class SettingsError extends ParityError {
  // Spelled out: a bundler may rename the class, and the name is part of what the logs show.
  override readonly name = 'SettingsError';
  readonly exitCode = 2;
  constructor(readonly problems: readonly string[]) {
    super(`invalid stub settings (environment):\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

// `satisfies`: every plain variable of the contract is read here, and nothing else.
const EnvSchema = z.object({
  SERVICE: z.enum(STUB_SERVICES),
  COLOR: z.string().regex(/^[a-z0-9-]+$/).default('none'),
  VERSION: z.string().regex(VERSION_PATTERN, VERSION_RULE).default('dev'),
  // Parsed by parseFault below, which reports its own problems.
  FAULT: z.string().optional(),
  PORT: integer(1, 65535).default(STUB_PORT),
  DATABASE_HOST: z.string().min(1).optional(),
  DATABASE_REPLICA_HOST: z.string().min(1).optional(),
  DATABASE_PORT: integer(1, 65535).default(5432),
  DATABASE_REPLICA_PORT: integer(1, 65535).optional(),
  DATABASE_NAME: z.string().min(1).default('platform'),
  DATABASE_USER: z.string().min(1).default('parity'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'a redis:// URL').optional(),
  S3_ENDPOINT: z.url().optional(),
  S3_REGION: z.string().default('us-east-1'),
  ACCESS_TOKEN_TTL_SECONDS: integer(10, 86_400).default(900),
  REFRESH_TOKEN_TTL_SECONDS: integer(60, 30 * 86_400).default(7 * 86_400),
  LOGIN_MAX_FAILURES: integer(1, 1000).default(5),
  LOGIN_MAX_FAILURES_PER_IP: integer(1, 100_000).default(20),
  LOGIN_LOCKOUT_SECONDS: integer(1, 86_400).default(900),
  ADMIN_EMAIL: z.email().optional(),
  IVOR_URL: z.url().optional(),
  EVENTS_URL: z.url().optional(),
  NEWSROOM_URL: z.url().optional(),
  BREAKER_RESET_MS: integer(100, 600_000).default(60_000),
  BREAKER_ERROR_PERCENT: integer(1, 100).default(5),
  BREAKER_VOLUME: integer(1, 1000).default(10),
  TIMEOUT_DB_WRITE_MS: integer(50, 60_000).default(5000),
  TIMEOUT_DB_READ_MS: integer(50, 60_000).default(1000),
  DB_READ_HEDGE_MS: integer(0, 60_000).default(100),
  TIMEOUT_REDIS_MS: integer(50, 60_000).default(500),
  TIMEOUT_S3_MS: integer(50, 60_000).default(3000),
  TIMEOUT_UPSTREAM_MS: integer(50, 60_000).default(2000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug']).default('warn'),
} satisfies Record<keyof StubPlainEnvironment, z.ZodType>);

/** Which settings each service can't run without (the APIs look every token's session up in Redis). */
const REQUIRED: Readonly<Record<StubService, readonly (keyof StubPlainEnvironment | StubSecret)[]>> = {
  ivor: ['DATABASE_HOST', 'DATABASE_PASSWORD', 'JWT_PUBLIC_KEYS', 'REDIS_URL'],
  events: ['DATABASE_HOST', 'DATABASE_PASSWORD', 'JWT_PUBLIC_KEYS', 'REDIS_URL'],
  newsroom: ['DATABASE_HOST', 'DATABASE_PASSWORD', 'JWT_PUBLIC_KEYS', 'REDIS_URL'],
  auth: ['DATABASE_HOST', 'DATABASE_PASSWORD', 'JWT_SIGNING_KEYS', 'JWT_PUBLIC_KEYS', 'REDIS_URL'],
  frontend: [],
  'alert-receiver': [],
};

/** `NAME` from the environment, or the trimmed content of the file `NAME_FILE` points at. */
function readSecret(env: Env, name: StubSecret, problems: string[]): string | undefined {
  if (env[name]) return env[name];
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    problems.push(`${name}_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    return undefined;
  }
}

/** The Redis URL with its ACL user's password (kept out of the URL in the environment, which `docker inspect` shows). */
function withPassword(redisUrl: string, password: string | undefined): string {
  if (!password) return redisUrl;
  const url = new URL(redisUrl);
  url.password = encodeURIComponent(password);
  return url.toString();
}

export function loadSettings(env: Env = process.env): Settings {
  const problems: string[] = [];
  let fault: Fault = { errorRate: 0, latencyMs: 0 };
  try {
    fault = parseFault(env.FAULT);
  } catch (error) {
    problems.push((error as Error).message);
  }
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message} (got ${JSON.stringify(env[String(issue.path[0])] ?? null)})`);
    throw new SettingsError(problems);
  }
  const e = parsed.data;
  const secrets: Record<StubSecret, string | undefined> = {
    DATABASE_PASSWORD: readSecret(env, 'DATABASE_PASSWORD', problems),
    JWT_SIGNING_KEYS: readSecret(env, 'JWT_SIGNING_KEYS', problems),
    JWT_PUBLIC_KEYS: readSecret(env, 'JWT_PUBLIC_KEYS', problems),
    S3_ACCESS_KEY: readSecret(env, 'S3_ACCESS_KEY', problems),
    S3_SECRET_KEY: readSecret(env, 'S3_SECRET_KEY', problems),
    ADMIN_PASSWORD: readSecret(env, 'ADMIN_PASSWORD', problems),
    REDIS_PASSWORD: readSecret(env, 'REDIS_PASSWORD', problems),
  };
  const present: Record<string, unknown> = { ...e, ...secrets };
  for (const name of REQUIRED[e.SERVICE]) {
    if (!present[name]) problems.push(`${name}: required by ${e.SERVICE}${name in secrets ? ` (or ${name}_FILE)` : ''}`);
  }
  if (e.S3_ENDPOINT && (!secrets.S3_ACCESS_KEY || !secrets.S3_SECRET_KEY)) problems.push('S3_ACCESS_KEY, S3_SECRET_KEY: required when S3_ENDPOINT is set');
  const keySet = (name: 'JWT_SIGNING_KEYS' | 'JWT_PUBLIC_KEYS') => {
    const text = secrets[name];
    if (!text) return undefined;
    const set = parseKeySet(text, name === 'JWT_SIGNING_KEYS');
    if (!set) problems.push(`${name}: expected a JWK set of Ed25519 ${name === 'JWT_SIGNING_KEYS' ? 'private' : 'public'} keys, each with a kid`);
    return set ? { set, ...(env[`${name}_FILE`] && !env[name] ? { file: env[`${name}_FILE`] } : {}) } : undefined;
  };
  const signingKeys = keySet('JWT_SIGNING_KEYS');
  const publicKeys = keySet('JWT_PUBLIC_KEYS');
  if (e.ADMIN_EMAIL && !secrets.ADMIN_PASSWORD) problems.push('ADMIN_PASSWORD: required when ADMIN_EMAIL is set (or ADMIN_PASSWORD_FILE)');
  if (problems.length > 0) throw new SettingsError(problems);

  const sameColor = (app: string) => `http://${app}-${e.COLOR}:${e.PORT}`;
  return {
    service: e.SERVICE,
    color: e.COLOR,
    version: e.VERSION,
    port: e.PORT,
    fault,
    ...(e.DATABASE_HOST && secrets.DATABASE_PASSWORD
      ? {
          database: {
            host: e.DATABASE_HOST,
            ...(e.DATABASE_REPLICA_HOST ? { replicaHost: e.DATABASE_REPLICA_HOST } : {}),
            port: e.DATABASE_PORT,
            replicaPort: e.DATABASE_REPLICA_PORT ?? e.DATABASE_PORT,
            name: e.DATABASE_NAME,
            user: e.DATABASE_USER,
            password: secrets.DATABASE_PASSWORD,
            ...(env.DATABASE_PASSWORD_FILE && !env.DATABASE_PASSWORD ? { passwordFile: env.DATABASE_PASSWORD_FILE } : {}),
          },
        }
      : {}),
    ...(e.REDIS_URL ? { redisUrl: withPassword(e.REDIS_URL, secrets.REDIS_PASSWORD) } : {}),
    ...(e.REDIS_URL && !env.REDIS_PASSWORD && env.REDIS_PASSWORD_FILE ? { redisPasswordFile: env.REDIS_PASSWORD_FILE } : {}),
    ...(e.S3_ENDPOINT
      ? { s3: { endpoint: e.S3_ENDPOINT, accessKey: secrets.S3_ACCESS_KEY!, secretKey: secrets.S3_SECRET_KEY!, region: e.S3_REGION } }
      : {}),
    ...(signingKeys ? { signingKeys } : {}),
    ...(publicKeys ? { publicKeys } : {}),
    accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
    lockout: { maxFailures: e.LOGIN_MAX_FAILURES, maxFailuresPerAddress: e.LOGIN_MAX_FAILURES_PER_IP, windowSeconds: e.LOGIN_LOCKOUT_SECONDS },
    ...(e.ADMIN_EMAIL ? { admin: { email: e.ADMIN_EMAIL.toLowerCase(), password: secrets.ADMIN_PASSWORD! } } : {}),
    upstreams: {
      // The frontend of a color talks to the APIs of the same color, so a deploy tests them together.
      ivor: e.IVOR_URL ?? sameColor('ivor'),
      events: e.EVENTS_URL ?? sameColor('events'),
      newsroom: e.NEWSROOM_URL ?? sameColor('newsroom'),
    },
    breakers: {
      resetMs: e.BREAKER_RESET_MS,
      errorThresholdPercentage: e.BREAKER_ERROR_PERCENT,
      volumeThreshold: e.BREAKER_VOLUME,
      timeoutsMs: { dbWrite: e.TIMEOUT_DB_WRITE_MS, dbRead: e.TIMEOUT_DB_READ_MS, redis: e.TIMEOUT_REDIS_MS, s3: e.TIMEOUT_S3_MS, upstream: e.TIMEOUT_UPSTREAM_MS },
      hedgeReadsMs: e.DB_READ_HEDGE_MS,
    },
    logLevel: e.LOG_LEVEL,
  };
}
