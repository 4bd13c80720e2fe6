/**
 * The contract between the generator, the runners and the stubs (services/contracts): its
 * wire names, the environment both sides are typed against, one VERSION rule, one error
 * hierarchy, and the lint rules that keep the layers apart.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import {
  COLOR_HEADER,
  envAssignment,
  FALLBACK_HEADER,
  FaultSyntaxError,
  headerKey,
  parseFault,
  READ_FROM_HEADER,
  SERVICE_HEADER,
  STUB_PORT,
  stubEnvironment,
  VERSION_HEADER,
} from '../../services/contracts/index.js';
import { validateDeployRequest } from '../../services/deploy/policy.js';
import { ParityError } from '../../services/errors.js';
import { repoRoot } from '../../scripts/runners/core/state.js';
import { HttpError } from '../../stubs/src/runtime/app.js';
import { DependencyUnavailableError } from '../../stubs/src/runtime/breakers.js';
import { loadSettings, SettingsError } from '../../stubs/src/runtime/settings.js';

describe('wire names', () => {
  it('keeps the names clients, Traefik rules and the browser script rely on', () => {
    expect([COLOR_HEADER, VERSION_HEADER, SERVICE_HEADER, FALLBACK_HEADER, READ_FROM_HEADER]).toEqual([
      'X-Parity-Color',
      'X-Parity-Version',
      'X-Parity-Service',
      'X-Parity-Fallback',
      'X-Parity-Read-From',
    ]);
    expect(headerKey(READ_FROM_HEADER)).toBe('x-parity-read-from');
    expect(STUB_PORT).toBe(3000);
  });
});

describe('stub environment', () => {
  it('leaves unset variables out and keeps the order it was written in', () => {
    expect(stubEnvironment({ SERVICE: 'ivor', COLOR: 'blue', DATABASE_HOST: undefined, PORT: String(STUB_PORT) })).toEqual({ SERVICE: 'ivor', COLOR: 'blue', PORT: '3000' });
    expect(Object.keys(stubEnvironment({ SERVICE: 'auth', JWT_PUBLIC_KEYS_FILE: '/run/secrets/jwt_public_keys', ADMIN_EMAIL: 'a@b.c' }))).toEqual(['SERVICE', 'JWT_PUBLIC_KEYS_FILE', 'ADMIN_EMAIL']);
    expect(envAssignment('VERSION', '1.4.0')).toBe('VERSION=1.4.0');
  });

  it('makes a misspelled or unknown variable a type error on the writing side', () => {
    // @ts-expect-error PROT is not a variable the stubs read
    stubEnvironment({ SERVICE: 'ivor', PROT: '3000' });
    // @ts-expect-error SERVICE must be one of the stub services
    stubEnvironment({ SERVICE: 'nginx' });
    // @ts-expect-error VERSON is not a variable the stubs read
    envAssignment('VERSON', '1.0.0');
  });
});

describe('VERSION: one rule for make deploy and the stubs', () => {
  it.each(['1.4.0', '2.0.0-rc.1+build.7', 'dev', 'a'.repeat(64)])('both accept %s', (version) => {
    expect(validateDeployRequest({ version })).toEqual([]);
    expect(loadSettings({ SERVICE: 'frontend', VERSION: version }).version).toBe(version);
  });

  it.each(['-x', '.1', 'two words', 'a'.repeat(65), '1.0;rm'])('both reject %j, in the same words', (version) => {
    expect(validateDeployRequest({ version })).toEqual([`VERSION: "${version}" is not a version (letters, digits and . _ + -, starting with a letter or digit, at most 64)`]);
    expect(() => loadSettings({ SERVICE: 'frontend', VERSION: version })).toThrow(
      `invalid stub settings (environment):\n  - VERSION: letters, digits and . _ + -, starting with a letter or digit, at most 64 (got ${JSON.stringify(version)})`,
    );
  });
});

describe('one error hierarchy', () => {
  it('the stubs throw ParityErrors with exit codes: bad input 2, failed work 1', () => {
    const settings = (() => {
      try {
        loadSettings({ SERVICE: 'nginx' });
      } catch (error) {
        return error;
      }
    })();
    expect(settings).toBeInstanceOf(SettingsError);
    expect(settings).toMatchObject({ name: 'SettingsError', exitCode: 2 });
    expect(settings).toBeInstanceOf(ParityError);

    const notFound = new HttpError(404, 'params.id: no event 7', 'params.id');
    expect(notFound).toBeInstanceOf(ParityError);
    expect(notFound).toMatchObject({ name: 'HttpError', status: 404, exitCode: 2, message: 'params.id: no event 7' });
    expect(new HttpError(503, 'the object store is not configured in this profile (S3_ENDPOINT)').exitCode).toBe(1);

    const down = new DependencyUnavailableError('redis', 'timeout', new Error('connect ETIMEDOUT'));
    expect(down).toBeInstanceOf(ParityError);
    expect(down).toMatchObject({ name: 'DependencyUnavailableError', exitCode: 1, message: 'redis unavailable (timeout: connect ETIMEDOUT)' });
  });

  it('a bad FAULT is a FaultSyntaxError (bad input)', () => {
    const fault = (() => {
      try {
        parseFault('error=lots');
      } catch (error) {
        return error;
      }
    })();
    expect(fault).toBeInstanceOf(FaultSyntaxError);
    expect(fault).toBeInstanceOf(ParityError);
    expect(fault).toMatchObject({ exitCode: 2, message: 'FAULT: error must be a share 0–1 or a percentage (got "lots")' });
  });
});

describe('layer rules (eslint no-restricted-imports)', () => {
  const eslint = new ESLint({ cwd: repoRoot });
  /** The import-rule messages ESLint reports for `code` as if it were the file at `filePath`. */
  const restricted = async (filePath: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath });
    return result!.messages.filter((message) => message.ruleId === 'no-restricted-imports').map((message) => message.message);
  };
  const rule = (source: string, why: string) => `'${source}' import is restricted from being used by a pattern. ${why}`;

  it('services/ must not import stubs/ or scripts/', async () => {
    expect(await restricted('services/deploy/policy.ts', "import { parseFault } from '../../stubs/src/runtime/settings.js';\nexport const f = parseFault;\n")).toEqual([
      rule('../../stubs/src/runtime/settings.js', 'services/ must not import stubs/: what both sides need belongs in services/contracts.'),
    ]);
    expect(await restricted('services/errors.ts', "import { run } from '../scripts/runners/exec.js';\nexport const r = run;\n")).toEqual([
      rule('../scripts/runners/exec.js', 'services/ must not import scripts/: the runners use the model, not the other way round.'),
    ]);
    expect(await restricted('services/topology/apps.ts', "import { STUB_PORT } from '../contracts/index.js';\nexport const p = STUB_PORT;\n")).toEqual([]);
  }, 30_000);

  it('services/contracts imports nothing outside itself', async () => {
    expect(await restricted('services/contracts/http.ts', "import { DATABASE } from '../topology/common.js';\nexport const d = DATABASE;\n")).toEqual([
      rule('../topology/common.js', 'services/contracts is shared with the stubs: it imports nothing outside itself.'),
    ]);
  }, 30_000);

  it('stubs/ must not import scripts/, and from services/ only the contracts', async () => {
    const code = [
      "import { run } from '../../../scripts/runners/exec.js';",
      "import { DATABASE } from '../../../services/topology/common.js';",
      "import { STUB_PORT } from '../../../services/contracts/index.js';",
      "import { auth } from '../services/auth.js';",
      'export const x = [run, DATABASE, STUB_PORT, auth];',
      '',
    ].join('\n');
    expect(await restricted('stubs/src/runtime/app.ts', code)).toEqual([
      rule('../../../scripts/runners/exec.js', 'stubs/ must not import scripts/: the runners drive the stubs, not the other way round.'),
      rule('../../../services/topology/common.js', 'stubs/ may import only services/contracts from services/ (the contract they share with the generator and the runners).'),
    ]);
    expect(await restricted('stubs/src/launch.ts', "import { ParityError } from '../../services/contracts/index.js';\nimport { auth } from './services/auth.js';\nexport const x = [ParityError, auth];\n")).toEqual([]);
  }, 30_000);

  it('scripts/runners/core imports no other runner folder; clients/ no feature folder and not the stack', async () => {
    expect(await restricted('scripts/runners/core/poll.ts', "import { compose } from '../stack/stack.js';\nimport { ParityError } from '../../../services/errors.js';\nimport { pending } from './progress.js';\nexport const x = [compose, ParityError, pending];\n")).toEqual([
      rule('../stack/stack.js', 'scripts/runners/core is the bottom layer: it imports no other runner folder (only its own modules and services/).'),
    ]);
    expect(await restricted('scripts/runners/clients/patroni.ts', "import { deploy } from '../deploy/index.js';\nimport { upStack } from '../stack/stack.js';\nimport { run } from '../core/exec.js';\nexport const x = [deploy, upStack, run];\n")).toEqual([
      rule('../deploy/index.js', 'scripts/runners/clients imports only core/ among the runner folders (and stack/deploy-state.ts, the deployed images): the stack and the features use the clients.'),
      rule('../stack/stack.js', 'scripts/runners/clients imports only core/ among the runner folders (and stack/deploy-state.ts, the deployed images): the stack and the features use the clients.'),
    ]);
  }, 30_000);
});
