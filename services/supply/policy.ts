/**
 * The supply-chain policy (`supply-chain.policy.yaml`): what `make supply-chain` fails on, warns
 * about or only reports, read and checked here. Pure: the caller reads the file.
 */
import { parseDocument } from 'yaml';
import { ParityError } from '../errors.js';

/** The policy file can't be read or says something the check can't act on (exit 2). */
export class SupplyPolicyError extends ParityError {
  readonly exitCode = 2;

  constructor(
    readonly file: string,
    readonly field: string,
    readonly expectation: string,
  ) {
    super(`${file}: ${field}: ${expectation}`);
  }
}

export const SEVERITIES = ['info', 'low', 'moderate', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * What an advisory of a severity does to a production dependency: `fail`; `accept-listed`
 * (fails unless `audit.accepted` lists it with a reason and an unexpired date); `report`.
 */
export type SeverityRule = 'fail' | 'accept-listed' | 'report';

/** A finding's weight on the exit code: `fail` → 1, `warn` and `report` leave it 0. */
export type Outcome = 'fail' | 'warn' | 'report';

/** An advisory accepted for a while, with the reason why. */
export interface AcceptedAdvisory {
  /** The advisory (`GHSA-…`) or, for all of a package's advisories, the package name. */
  readonly advisory: string;
  readonly reason: string;
  /** Last day (`YYYY-MM-DD`, UTC) the acceptance holds; after it the advisory fails again. */
  readonly expires: string;
}

/** A package whose licence isn't on the allowed list (or can't be read), reviewed by hand. */
export interface AcceptedLicence {
  /** `npm:<name>`, `go:<module path>` (a trailing `/*` covers the modules below), `debian:<package>`. */
  readonly package: string;
  /** What the licence is, as the reviewer found it. */
  readonly licence: string;
  readonly reason: string;
}

export interface SupplyPolicy {
  readonly audit: {
    /** The rule per severity for production dependencies. */
    readonly severities: Readonly<Record<Severity, SeverityRule>>;
    /** Advisories reached only through devDependencies: never built into an image. @default 'report' */
    readonly devOnly: Outcome;
    /** npm's audit endpoint unreachable or refusing: the decision and why. @default 'warn' */
    readonly unreachable: Outcome;
    readonly accepted: readonly AcceptedAdvisory[];
  };
  readonly labels: {
    /**
     * A catalog image present without the bake's labels: pulled from upstream (where a registry
     * answers, as in CI) or loaded by hand. Its publisher's labels can't match the lock. @default 'warn'
     */
    readonly unlabelled: Outcome;
  };
  readonly licences: {
    readonly allowed: readonly string[];
    /** Prefixes of licence identifiers never allowed in anything built into an image. */
    readonly denied: readonly string[];
    /** A licence that was read but isn't on the allowed list. @default 'fail' */
    readonly unrecognised: Outcome;
    /** A licence that can't be read offline (no file in the module, no copyright in the image). @default 'warn' */
    readonly unavailable: Outcome;
    readonly accepted: readonly AcceptedLicence[];
  };
}

const OUTCOMES: readonly Outcome[] = ['fail', 'warn', 'report'];
const RULES: readonly SeverityRule[] = ['fail', 'accept-listed', 'report'];

type Fields = Record<string, unknown>;

/** Reads fields of a parsed YAML mapping, throwing `SupplyPolicyError` with the field's path. */
class FieldReader {
  constructor(
    private readonly file: string,
    private readonly path: string,
    readonly value: Fields,
  ) {}

  static of(file: string, path: string, value: unknown): FieldReader {
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new SupplyPolicyError(file, path || '(file)', 'expected a mapping');
    return new FieldReader(file, path, value as Fields);
  }

  private where(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  section(key: string): FieldReader {
    return FieldReader.of(this.file, this.where(key), this.value[key]);
  }

  oneOf<T extends string>(key: string, choices: readonly T[], fallback?: T): T {
    const raw = this.value[key] ?? fallback;
    const value = typeof raw === 'number' ? String(raw) : raw;
    if (typeof value !== 'string' || !choices.includes(value as T)) {
      throw new SupplyPolicyError(this.file, this.where(key), `expected one of ${choices.join(', ')}, found ${JSON.stringify(value ?? null)}`);
    }
    return value as T;
  }

  strings(key: string, fallback?: readonly string[]): string[] {
    const value = this.value[key] ?? fallback;
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || !item.trim())) {
      throw new SupplyPolicyError(this.file, this.where(key), `expected a list of non-empty strings, found ${JSON.stringify(value ?? null)}`);
    }
    return value as string[];
  }

  list<T>(key: string, read: (entry: FieldReader) => T): T[] {
    const value = this.value[key] ?? [];
    if (!Array.isArray(value)) throw new SupplyPolicyError(this.file, this.where(key), `expected a list, found ${JSON.stringify(value)}`);
    return value.map((entry, index) => read(FieldReader.of(this.file, `${this.where(key)}[${index}]`, entry)));
  }

  text(key: string, pattern?: { readonly regex: RegExp; readonly example: string }): string {
    const value = this.value[key];
    if (typeof value !== 'string' || !value.trim()) throw new SupplyPolicyError(this.file, this.where(key), `expected a non-empty string, found ${JSON.stringify(value ?? null)}`);
    if (pattern && !pattern.regex.test(value)) throw new SupplyPolicyError(this.file, this.where(key), `expected ${pattern.example}, found ${JSON.stringify(value)}`);
    return value;
  }
}

const DATE = { regex: /^\d{4}-\d{2}-\d{2}$/, example: 'a date like 2027-01-31' };

/** The policy in `text` (the content of `file`), complete, or `SupplyPolicyError` naming the field. */
export function parseSupplyPolicy(text: string, file: string): SupplyPolicy {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) throw new SupplyPolicyError(file, '(file)', `expected YAML (${doc.errors[0]!.message.split('\n')[0]})`);
  const root = FieldReader.of(file, '', doc.toJS());
  root.oneOf('version', ['1']);
  const audit = root.section('audit');
  const severityReader = audit.section('severities');
  const severities = Object.fromEntries(SEVERITIES.map((severity) => [severity, severityReader.oneOf(severity, RULES)])) as Record<Severity, SeverityRule>;
  const licences = root.section('licences');
  const labels = root.value.labels === undefined ? undefined : root.section('labels');
  return {
    labels: { unlabelled: labels?.oneOf('unlabelled', OUTCOMES, 'warn') ?? 'warn' },
    audit: {
      severities,
      devOnly: audit.oneOf('devOnly', OUTCOMES, 'report'),
      unreachable: audit.oneOf('unreachable', OUTCOMES, 'warn'),
      accepted: audit.list('accepted', (entry) => ({ advisory: entry.text('advisory'), reason: entry.text('reason'), expires: entry.text('expires', DATE) })),
    },
    licences: {
      allowed: licences.strings('allowed'),
      denied: licences.strings('denied'),
      unrecognised: licences.oneOf('unrecognised', OUTCOMES, 'fail'),
      unavailable: licences.oneOf('unavailable', OUTCOMES, 'warn'),
      accepted: licences.list('accepted', (entry) => ({
        package: entry.text('package', { regex: /^(npm|go|debian|image):\S+$/, example: 'npm:<name>, go:<module>, debian:<package> or image:<catalog name>' }),
        licence: entry.text('licence'),
        reason: entry.text('reason'),
      })),
    },
  };
}
