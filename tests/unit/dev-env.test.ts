/** `make dev-env`: a service's container environment, rewritten for a process on the host (services/dev/host-env.ts). */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../services/config/validate.js';
import { buildTopology } from '../../services/topology/index.js';
import { formatEnvironment, hostEnvironment } from '../../services/dev/host-env.js';
import { parseDevEnvRequest } from '../../scripts/runners/dev/dev-env.js';
import { parseDevRunRequest } from '../../scripts/runners/dev/dev-run.js';
import type { UsageError } from '../../services/errors.js';

const config = parseConfig('services:\n  events:\n    source: stub\n    env:\n      LOG_LEVEL: debug\n');
const containerEnv = (service: string) => buildTopology(config).services.find((spec) => spec.name === `${service}-blue`)!.environment!;
const ports = { writer: 15432, reader: 15433, redis: 16379, s3: 18333 };

describe('dev-env', () => {
  it('GIVEN events THEN the data stores through the published loopback ports, its own role, secrets as the state directory’s files, PORT and its own env', () => {
    const { env, notes } = hostEnvironment('events', containerEnv('events'), config, '/state/secrets', ports);
    expect(env).toMatchObject({
      SERVICE: 'events',
      DATABASE_HOST: '127.0.0.1',
      DATABASE_PORT: '15432',
      DATABASE_REPLICA_HOST: '127.0.0.1',
      DATABASE_REPLICA_PORT: '15433',
      DATABASE_USER: containerEnv('events').DATABASE_USER,
      DATABASE_PASSWORD_FILE: `/state/secrets/${containerEnv('events').DATABASE_PASSWORD_FILE!.split('/').pop()}`,
      REDIS_URL: 'redis://app@127.0.0.1:16379',
      REDIS_PASSWORD_FILE: '/state/secrets/redis_app_password',
      JWT_PUBLIC_KEYS_FILE: '/state/secrets/jwt_public_keys',
      S3_ENDPOINT: 'http://127.0.0.1:18333',
      PORT: '3000',
      LOG_LEVEL: 'debug',
    });
    // Nothing left that names a container, and no color: the host process is neither.
    expect(Object.values(env).some((value) => /toxiproxy|postgres-writer|\/run\/secrets/.test(value))).toBe(false);
    expect(env.COLOR).toBeUndefined();
    expect(notes).toEqual([]);
  });

  it('GIVEN the frontend THEN the APIs’ in-stack addresses are left out, each with why', () => {
    const { env, notes } = hostEnvironment('frontend', containerEnv('frontend'), config, '/state/secrets', ports);
    expect(env.EVENTS_URL).toBeUndefined();
    expect(notes).toEqual(expect.arrayContaining([expect.stringMatching(/^EVENTS_URL left out: /)]));
  });

  it('GIVEN no reader port THEN reads go to the writer (the reader left out, said); GIVEN no Redis port THEN a usage error', () => {
    const { env, notes } = hostEnvironment('events', containerEnv('events'), config, '/s', { writer: 1, redis: 2, s3: 3 });
    expect(env.DATABASE_REPLICA_HOST).toBeUndefined();
    expect(notes[0]).toMatch(/reader endpoint publishes no port/);
    expect(() => hostEnvironment('events', containerEnv('events'), config, '/s', { writer: 1 })).toThrow(/Redis publishes no port/);
  });

  it('THEN each format: dotenv quotes what needs it, sh single-quotes every value, json is an object', () => {
    const env = { B: 'two words', A: "it's", C: 'plain/path:1' };
    expect(formatEnvironment(env, 'dotenv')).toBe('A="it\'s"\nB="two words"\nC=plain/path:1\n');
    expect(formatEnvironment(env, 'sh')).toBe("export A='it'\\''s'\nexport B='two words'\nexport C='plain/path:1'\n");
    expect(JSON.parse(formatEnvironment(env, 'json'))).toEqual(env);
  });

  it('GIVEN bad input THEN a usage error (exit 2) before the engine is asked: no service, an unknown one (with a hint), auth, a bad format', () => {
    expect(() => parseDevEnvRequest(undefined, undefined)).toThrow(/SERVICE is required/);
    expect(() => parseDevEnvRequest('evnts', undefined)).toThrow(/did you mean events/);
    expect(() => parseDevEnvRequest('auth', undefined)).toThrow(/auth stays a stub/);
    expect(() => parseDevEnvRequest('events', 'yaml')).toThrow(/FORMAT=yaml: expected one of dotenv, sh, json/);
    expect(parseDevEnvRequest('events', '')).toEqual({ service: 'events', format: 'dotenv' });
  });
});

describe('dev-env with envMap, and dev-run', () => {
  it('GIVEN an image-mode service with envMap THEN the host file composes it from the host\'s values, not the container\'s', () => {
    const own = parseConfig('services:\n  events:\n    source: image\n    image: team/events:1\n    port: 8080\n    envMap:\n      DATABASE_URL: "postgresql://{postgres.user}@{postgres.host}:{postgres.port}/{postgres.database}"\n      PW: "{postgres.passwordFile}"\n');
    const container = buildTopology(own).services.find((spec) => spec.name === 'events-blue')!.environment!;
    expect(container.DATABASE_URL).not.toContain('127.0.0.1');
    const { env } = hostEnvironment('events', container, own, '/state/secrets', ports);
    expect(env.DATABASE_URL).toBe('postgresql://app_events@127.0.0.1:15432/platform');
    expect(env.PW).toBe('/state/secrets/pg_events_password');
  });

  it('GIVEN no command, or an unknown service THEN dev-run refuses with exit 2 and says how to call it', () => {
    expect(() => parseDevRunRequest('events', [])).toThrow(/dev-run needs a command to run with events's environment: make dev-run SERVICE=events -- npm run dev/);
    expect(() => parseDevRunRequest('evnts', ['true'])).toThrow(/did you mean events\?/);
    expect(parseDevRunRequest('newsroom', ['npm', 'run', 'dev'])).toEqual({ service: 'newsroom', command: ['npm', 'run', 'dev'] });
    try {
      parseDevRunRequest('events', []);
    } catch (error) {
      expect((error as UsageError).exitCode).toBe(2);
    }
  });
});
