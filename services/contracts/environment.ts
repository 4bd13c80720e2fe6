/**
 * The environment a stub container runs with: `services/topology/apps.ts` writes it (compose),
 * the deploy runner writes VERSION and FAULT into each color's env file, and
 * `stubs/src/runtime/settings.ts` reads it. Both sides are typed against `StubEnvironment`,
 * so a renamed or missing variable is a type error rather than a container that exits 2.
 * Values are strings (that is all an environment holds); the stub validates their content.
 */

/** The platform services the stubs image can run (`SERVICE`). */
export const STUB_SERVICES = ['ivor', 'events', 'newsroom', 'frontend', 'auth', 'alert-receiver'] as const;
export type StubService = (typeof STUB_SERVICES)[number];

/**
 * Secrets: the value itself, or `<NAME>_FILE`, the path of a file holding it (compose secrets).
 * JWT_SIGNING_KEYS (auth only) and JWT_PUBLIC_KEYS (everyone) are Ed25519 JWK sets; read from a
 * file, they are read again while the service runs (key rotation).
 */
export const STUB_SECRETS = ['DATABASE_PASSWORD', 'JWT_SIGNING_KEYS', 'JWT_PUBLIC_KEYS', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'ADMIN_PASSWORD', 'REDIS_PASSWORD'] as const;
export type StubSecret = (typeof STUB_SECRETS)[number];

/** The variables a stub reads as plain values (defaults are the stub's). */
export interface StubPlainEnvironment {
  /** Which platform service the container runs. */
  readonly SERVICE: StubService;
  /** The color this instance belongs to (blue/green); lower-case letters, digits, `-`. @default 'none' */
  readonly COLOR?: string;
  /** The version label (see `VERSION_PATTERN`), shown as `X-Parity-Version`. @default 'dev' */
  readonly VERSION?: string;
  /** A deliberately bad version (see `parseFault`); empty = healthy. @default '' */
  readonly FAULT?: string;
  /** Port to listen on. @default STUB_PORT (3000) */
  readonly PORT?: string;
  /** The Postgres primary's host; absent → no database. */
  readonly DATABASE_HOST?: string;
  /** The streaming replica's host; absent → reads use the primary. */
  readonly DATABASE_REPLICA_HOST?: string;
  /** @default '5432' */
  readonly DATABASE_PORT?: string;
  /** The replica's port (it may sit behind a proxy on another port than the primary). @default DATABASE_PORT */
  readonly DATABASE_REPLICA_PORT?: string;
  /** @default 'platform' */
  readonly DATABASE_NAME?: string;
  /** @default 'parity' */
  readonly DATABASE_USER?: string;
  /** `redis://[user@]host:port`; absent → no cache. The user's password is `REDIS_PASSWORD` (or its file). */
  readonly REDIS_URL?: string;
  /** The S3 endpoint URL; absent → no object store (needs both S3 keys when set). */
  readonly S3_ENDPOINT?: string;
  /** @default 'us-east-1' */
  readonly S3_REGION?: string;
  /** Access token lifetime, seconds (auth). @default '900' */
  readonly ACCESS_TOKEN_TTL_SECONDS?: string;
  /** Refresh token lifetime, seconds (auth). @default '604800' */
  readonly REFRESH_TOKEN_TTL_SECONDS?: string;
  /** Failed logins for one email within the lockout window before auth answers 429 (auth). @default '5' */
  readonly LOGIN_MAX_FAILURES?: string;
  /**
   * Failed logins from one client address within the window before 429 (auth). Higher than the
   * per-email limit: many people may share an address (NAT, or Docker's bridge gateway). @default '20'
   */
  readonly LOGIN_MAX_FAILURES_PER_IP?: string;
  /** The window failed logins are counted in, and how long a lockout lasts, seconds (auth). @default '900' */
  readonly LOGIN_LOCKOUT_SECONDS?: string;
  /** The admin account auth creates at start (needs ADMIN_PASSWORD). */
  readonly ADMIN_EMAIL?: string;
  /** Where the frontend reaches IVOR. @default `http://ivor-<COLOR>:<PORT>` */
  readonly IVOR_URL?: string;
  /** Where the frontend reaches Events. @default `http://events-<COLOR>:<PORT>` */
  readonly EVENTS_URL?: string;
  /** Where the frontend reaches Newsroom. @default `http://newsroom-<COLOR>:<PORT>` */
  readonly NEWSROOM_URL?: string;
  /** How long an open breaker waits before a trial call, ms. @default '60000' */
  readonly BREAKER_RESET_MS?: string;
  /** Failure percentage that opens a breaker. @default '5' */
  readonly BREAKER_ERROR_PERCENT?: string;
  /** Calls in the rolling window before the share is judged. @default '10' */
  readonly BREAKER_VOLUME?: string;
  /** Per-call timeouts of the breakers, ms: writes on the primary. @default '5000' */
  readonly TIMEOUT_DB_WRITE_MS?: string;
  /** Reads on the replica (a timeout sends the read to the primary). @default '1000' */
  readonly TIMEOUT_DB_READ_MS?: string;
  /** A replica read not answered within this long is asked of the primary too; the first answer wins ('0': never). @default '100' */
  readonly DB_READ_HEDGE_MS?: string;
  /** @default '500' */
  readonly TIMEOUT_REDIS_MS?: string;
  /** @default '3000' */
  readonly TIMEOUT_S3_MS?: string;
  /** The frontend's calls to the APIs. @default '2000' */
  readonly TIMEOUT_UPSTREAM_MS?: string;
  /** fatal, error, warn, info or debug. @default 'warn' */
  readonly LOG_LEVEL?: string;
}

/** The secrets, each as a value or as a `_FILE` path. */
export type StubSecretEnvironment = { readonly [Name in StubSecret | `${StubSecret}_FILE`]?: string };

/** Everything a stub reads from its environment. */
export type StubEnvironment = StubPlainEnvironment & StubSecretEnvironment;

/** A stub's environment for compose or a container: names checked against the contract, unset ones left out. */
export function stubEnvironment(environment: StubEnvironment): Record<string, string> {
  return Object.fromEntries(Object.entries(environment).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** `NAME=value`, a line of an env file compose hands to a stub (the colors' `deploy/<color>.env`). */
export const envAssignment = (name: keyof StubEnvironment, value: string): string => `${name}=${value}`;
