/**
 * `services.<name>.source` in parity.yaml (issue #22, point 1): each source's needs, what it must
 * not carry, host ports that clash, envMap templates, files that are not there — every problem at
 * once with file:line:col, and `make gen` exits 2 and writes nothing.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type ParseOptions } from '../../services/config/validate.js';
import { checkServiceSources, ownSources } from '../../services/config/sources.js';
import { DEFAULT_CONFIG } from '../../services/config/schema.js';
import { runCliSync } from '../cli.js';
import { renderComposeObject } from '../../services/render/compose.js';
import { buildTopology } from '../../services/topology/index.js';

/** The issues of a config, each at its line. */
function problems(text: string, options: ParseOptions = {}): string[] {
  try {
    parseConfig(text, 'parity.yaml', options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map((issue) => `${issue.line}:${issue.col} ${issue.path}: ${issue.message}`);
  }
  return [];
}

describe('services.<name>.source', () => {
  it('GIVEN no source THEN every platform service is the stub', () => {
    expect(ownSources(parseConfig(''))).toEqual([]);
    expect(ownSources(parseConfig('services:\n  events:\n    source: stub\n'))).toEqual([]);
  });

  it('GIVEN a complete image, build or host source, with extra secrets THEN it parses; the secrets render as compose secrets from their files, mounted under their names in both colors', () => {
    const text = [
      'services:',
      '  events:',
      '    source: image',
      '    image: blkout/events:dev',
      '    port: 8080',
      '    health:',
      '      live: /livez',
      '      ready: /readyz',
      '    env:',
      '      LOG_LEVEL: debug',
      '    envMap:',
      '      DATABASE_URL: "postgres://{postgres.user}@{postgres.host}:{postgres.port}/{postgres.database}"',
      '  newsroom:',
      '    source: host',
      '    host:',
      '      port: 5173',
      '      routing: header',
      '      name: alex',
      '  ivor:',
      '    source: build',
      '    build:',
      '      context: svc/ivor',
      '    secrets:',
      '      api_key: keys/api',
      '',
    ].join('\n');
    const config = parseConfig(text);
    const compose = renderComposeObject(buildTopology(config)) as { services: Record<string, { secrets?: { source: string; target: string }[] }>; secrets: Record<string, { file: string }> };
    expect(compose.secrets.ivor_own_api_key).toEqual({ file: '${PARITY_CONFIG_DIR:-..}/keys/api' });
    for (const color of ['blue', 'green']) expect(compose.services[`ivor-${color}`]!.secrets).toContainEqual({ source: 'ivor_own_api_key', target: 'api_key' });
    expect(compose.services['events-blue']!.secrets!.map((secret) => secret.target)).not.toContain('api_key');
  });

  it('GIVEN every kind of mistake THEN all are reported together, each at its line, with a hint', () => {
    const text = [
      'services:',
      '  events:',
      '    source: imag',
      '  ivor:',
      '    source: build',
      '    build:',
      '      context: ../outside',
      '      watch:',
      '        - path: src',
      '          action: sync',
      '        - path: package.json',
      '          action: rebuild',
      '          target: /app',
      '  newsroom:',
      '    source: host',
      '    host:',
      '      port: 8443',
      '    port: 3000',
      '    envMap:',
      '      DATABASE_URL: "postgres://{postgres.usr}@{postgres.host}/x"',
      '    env:',
      '      DATABASE_URL: x',
      '  frontend:',
      '    image: my/front:dev',
      '  payments:',
      '    source: image',
      '  auth:',
      '    source: image',
      '',
    ].join('\n');
    expect(problems(text)).toEqual([
      '3:13 services.events.source: expected one of "stub", "image", "build", "host", got "imag" (did you mean "image"?)',
      '7:16 services.ivor.build.context: expected a path relative to parity.yaml, inside the project (no leading /, no ..), got "../outside"',
      '9:11 services.ivor.build.watch[0].target: action sync needs target: the path in the container the files go to (e.g. /app/src)',
      '13:11 services.ivor.build.watch[1].target: a rebuild replaces the image: target is read only by sync and sync+restart',
      '17:7 services.newsroom.host.port: port 8443 is already published by the stack (ports.https); your process must listen on another one',
      '18:5 services.newsroom.port: port is the port in a container; a host process gives host.port instead',
      '20:7 services.newsroom.envMap.DATABASE_URL: unknown value {postgres.usr} (did you mean {postgres.user}?); expected one of: {postgres.host}, {postgres.port}, {postgres.readerHost}, {postgres.readerPort}, {postgres.database}, {postgres.user}, {postgres.passwordFile}, {redis.host}, {redis.port}, {redis.user}, {redis.passwordFile}, {s3.endpoint}, {s3.accessKeyFile}, {s3.secretKeyFile}, {jwt.publicKeysDir}, {service.port}',
      '20:7 services.newsroom.envMap.DATABASE_URL: DATABASE_URL is also set in env: give it once',
      '24:5 services.frontend.image: image is read only with source: image (this service\'s source is stub)',
      '25:3 services.payments: unknown key; expected one of: grafana, nodeExporter, s3, frontend, ivor, events, newsroom, auth',
      expect.stringMatching(/^27:3 services\.auth: auth stays a stub: it signs every token the other services verify/),
    ]);
  });

  it('GIVEN a source without what it needs, or watch rules without a build THEN each is named', () => {
    expect(problems('services:\n  events:\n    source: image\n  ivor:\n    source: build\n  newsroom:\n    source: host\n  frontend:\n    build:\n      context: web\n      watch:\n        - path: src\n          action: rebuild\n')).toEqual([
      '3:5 services.events.source: source: image needs services.events.image (an image on the engine, e.g. blkout/events:dev)',
      '5:5 services.ivor.source: source: build needs services.ivor.build (a context folder with a Dockerfile)',
      '7:5 services.newsroom.source: source: host needs services.newsroom.host (the port your process listens on, e.g. port: 5173)',
      '9:5 services.frontend.build: build is read only with source: build (this service\'s source is stub); watch rules need a build',
    ]);
  });

  it('GIVEN two host processes on one port THEN the later one in the model\'s order (frontend, ivor, events, newsroom) is refused', () => {
    expect(problems('services:\n  events:\n    source: host\n    host:\n      port: 5173\n  ivor:\n    source: host\n    host:\n      port: 5173\n')).toEqual([
      '5:7 services.events.host.port: port 5173 is already given as services.ivor.host.port; your process must listen on another one',
    ]);
  });

  it('GIVEN the file system THEN a missing context, Dockerfile, watched path or secret file is named (the validator asks, it never reads)', () => {
    const files: Record<string, 'file' | 'folder'> = { svc: 'folder', 'svc/events': 'folder', 'svc/events/src': 'folder', web: 'folder', 'web/Dockerfile.dev': 'file', keys: 'folder' };
    const exists = (path: string) => files[path];
    const text = [
      'services:',
      '  events:',
      '    source: build',
      '    build:',
      '      context: svc/events',
      '      watch:',
      '        - path: src',
      '          action: sync+restart',
      '          target: /app/src',
      '        - path: lib',
      '          action: rebuild',
      '    secrets:',
      '      api_key: keys/api',
      '      cert: keys',
      '  ivor:',
      '    source: build',
      '    build:',
      '      context: nowhere',
      '  frontend:',
      '    source: build',
      '    build:',
      '      context: web',
      '      dockerfile: Dockerfile.dev',
      '',
    ].join('\n');
    expect(problems(text, { exists })).toEqual([
      '5:7 services.events.build.context: no Dockerfile at svc/events/Dockerfile (set build.dockerfile if it has another name)',
      '10:11 services.events.build.watch[1].path: lib does not exist in the build context svc/events',
      '13:7 services.events.secrets.api_key: keys/api does not exist; expected the secret\'s file (relative to parity.yaml, kept out of git)',
      '14:7 services.events.secrets.cert: keys is a folder; expected the secret\'s file (relative to parity.yaml, kept out of git)',
      '18:7 services.ivor.build.context: nowhere does not exist; expected a folder (relative to parity.yaml) holding your service\'s source',
    ]);
  });

  it('GIVEN checkServiceSources alone THEN it is pure and returns problems without positions', () => {
    expect(checkServiceSources(DEFAULT_CONFIG, [])).toEqual([]);
  });
});

describe('make gen with a source whose files are missing', () => {
  it('GIVEN source: build with a context without a Dockerfile WHEN running gen THEN exit 2 at its line, paths relative to the config\'s folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parity-sources-'));
    const config = join(dir, 'parity.yaml');
    mkdirSync(join(dir, 'svc'));
    writeFileSync(config, 'services:\n  events:\n    source: build\n    build:\n      context: svc\n');
    const result = runCliSync('gen.ts', ['--config', config]);
    rmSync(dir, { recursive: true, force: true });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('1 problem; nothing was written');
    expect(result.stderr).toContain(':5:7 services.events.build.context: no Dockerfile at svc/Dockerfile');
  }, 30_000);
});
