/**
 * Parse and validate the user's config text. Pure: the caller reads the file.
 *
 * Every problem is collected with its path and its line:column, and all are reported
 * together in one `ConfigError` (exit code 2).
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { ParityError, suggest } from '../errors.js';
import { CONFIG_SCHEMA, DEFAULT_CONFIG, defaultBackup, defaultChaos, defaultHa, type FieldSchema, type ParityConfig } from './schema.js';
import { checkBreakerExpression } from './breaker-expression.js';
import { checkChaos, completeScenarios } from './chaos-rules.js';
import { needsOf, profileServices } from './profiles.js';
import { AUTH_STAYS_A_STUB, checkServiceSources, type PathProbe } from './sources.js';

export interface ConfigIssue {
  /** Dotted path of the field (`ports.http`), or `(file)` for syntax errors. */
  readonly path: string;
  /** 1-based line and column, when the field is written in the file. */
  readonly line?: number;
  readonly col?: number;
  readonly message: string;
}

export class ConfigError extends ParityError {
  readonly exitCode = 2;

  constructor(
    readonly file: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(
      `${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}; nothing was written\n` +
        issues.map((issue) => `  ${formatIssue(file, issue)}`).join('\n'),
    );
  }
}

export function formatIssue(file: string, issue: ConfigIssue): string {
  const where = issue.line ? `${file}:${issue.line}:${issue.col}` : file;
  return `${where} ${issue.path}: ${issue.message}`;
}

type Positions = Map<string, { line: number; col: number }>;

export interface ParseOptions {
  /**
   * Whether a path relative to the config file's folder exists (a file or a folder): build
   * contexts, Dockerfiles and secret files are checked with it. The runner passes the file
   * system; without it those checks are skipped (the validator itself does no I/O).
   */
  readonly exists?: PathProbe;
}

/** Parse `text` (the content of `file`) into a complete config, or throw `ConfigError`. */
export function parseConfig(text: string, file = 'parity.yaml', options: ParseOptions = {}): ParityConfig {
  const unreadable = notText(text);
  if (unreadable) throw new ConfigError(file, [unreadable]);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((error) => {
        const pos = lineCounter.linePos(error.pos[0]);
        return { path: '(file)', line: pos.line, col: pos.col, message: `malformed YAML: ${error.message.split('\n')[0]}` };
      }),
    );
  }
  const issues: ConfigIssue[] = [];
  const positions: Positions = new Map();
  const sourceOf = (node: Node): string => (node.range ? text.slice(node.range[0], node.range[1]).trim() : '');
  const at = (node: Node | null | undefined): { line?: number; col?: number } => {
    if (!node?.range) return {};
    const pos = lineCounter.linePos(node.range[0]);
    return { line: pos.line, col: pos.col };
  };

  let user: unknown = {};
  const root = doc.contents as Node | null;
  if (root !== null && !(isScalar(root) && (root.value === null || root.value === undefined))) {
    if (!isMap(root)) {
      // Nothing below can be read without a mapping at the top: one issue, not a cascade.
      const value = isScalar(root) ? root.value : root.toJSON();
      throw new ConfigError(file, [{ path: '(file)', ...at(root), message: `expected a mapping of settings (e.g. "profile: full"), got ${describe(value)}` }]);
    }
    user = readNode(root, CONFIG_SCHEMA, '', issues, positions, at, sourceOf);
  }
  // Fields that failed above keep their defaults, so cross-field rules still run and every
  // problem is reported in one go.
  const merged = mergeDefaults(DEFAULT_CONFIG, user) as ParityConfig;
  const userPostgres = (user as { postgres?: { ha?: unknown } }).postgres;
  const userChaos = (user as { chaos?: { enabled?: unknown } }).chaos;
  const userBackup = (user as { backup?: { enabled?: unknown } }).backup;
  const postgres = userPostgres?.ha === undefined ? { ...merged.postgres, ha: defaultHa(merged.profile) } : merged.postgres;
  const config: ParityConfig = {
    ...merged,
    postgres,
    backup: userBackup?.enabled === undefined ? { ...merged.backup, enabled: defaultBackup(merged.profile, postgres.ha) } : merged.backup,
    chaos: {
      enabled: userChaos?.enabled === undefined ? defaultChaos(merged.profile) : merged.chaos.enabled,
      scenarios: completeScenarios(merged.chaos.scenarios),
    },
  };
  issues.push(...checkConsistency(config, positions));
  // A rule's path may name a key the user didn't write (a missing `target`): point at its nearest written parent.
  const nearest = (path: string): { line?: number; col?: number } => {
    for (let at = path; ; ) {
      const found = positions.get(at);
      if (found) return found;
      const parent = at.replace(/(\.[^.[\]]+|\[\d+\])$/, '');
      if (parent === at) return {};
      at = parent;
    }
  };
  const placed = (issue: { path: string; message: string }): ConfigIssue => ({ ...issue, ...nearest(issue.path) });
  if ((user as { services?: { auth?: unknown } }).services?.auth !== undefined) issues.push(placed({ path: 'services.auth', message: AUTH_STAYS_A_STUB }));
  issues.push(...checkServiceSources(config, publishedPorts(config), options.exists).map(placed));
  issues.push(...checkChaos(config, (user as { chaos?: { scenarios?: Record<string, unknown> } }).chaos?.scenarios ?? {}, positions));
  if (issues.length > 0) throw new ConfigError(file, sortIssues(issues));
  return config;
}

/**
 * A config must be UTF-8 text: a UTF-16/32 file (its byte-order mark, read as UTF-8, becomes
 * U+FFFD) or a NUL byte anywhere means a binary or mis-encoded file, which YAML would otherwise
 * read as odd keys.
 */
function notText(text: string): ConfigIssue | undefined {
  const lineOf = (index: number): { line: number; col: number } => {
    const before = text.slice(0, index).split('\n');
    return { line: before.length, col: before[before.length - 1]!.length + 1 };
  };
  const utf16 = text.startsWith('\uFFFD\uFFFD') || text.startsWith('\u0000') || text.startsWith('\uFEFF\u0000') || text.startsWith('\uFEFF\uFEFF');
  if (utf16) {
    return { path: '(file)', line: 1, col: 1, message: 'not UTF-8 text (a UTF-16 or UTF-32 byte-order mark?): save the file as UTF-8' };
  }
  const nul = text.indexOf('\u0000');
  if (nul >= 0) return { path: '(file)', ...lineOf(nul), message: 'a NUL byte: this is a binary file or not UTF-8 text; expected a YAML file saved as UTF-8' };
  const bad = text.indexOf('\uFFFD');
  if (bad >= 0) return { path: '(file)', ...lineOf(bad), message: 'bytes that are not UTF-8: expected a YAML file saved as UTF-8' };
  return undefined;
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') return `"${value}"`;
  if (typeof value === 'object') return Array.isArray(value) ? 'a list' : 'a mapping';
  return String(value);
}

function readNode(
  node: Node,
  schema: FieldSchema,
  path: string,
  issues: ConfigIssue[],
  positions: Positions,
  at: (node: Node | null | undefined) => { line?: number; col?: number },
  sourceOf: (node: Node) => string,
): unknown {
  const where = at(node);
  // Cross-field problems point at the key the user wrote (set by the parent), else the value.
  if (where.line && !positions.has(path)) positions.set(path, { line: where.line, col: where.col! });
  const fail = (message: string): undefined => {
    issues.push({ path, ...where, message });
    return undefined;
  };

  if (schema.kind === 'list') {
    if (!isSeq(node)) return fail(`expected a list, got ${describe(isScalar(node) ? node.value : node.toJSON())}`);
    const items = node.items.map((item, index) => readNode(item as Node, schema.item, `${path}[${index}]`, issues, positions, at, sourceOf));
    return items.every((item) => item !== undefined) ? items : undefined;
  }

  if (schema.kind === 'object' || schema.kind === 'map' || schema.kind === 'record') {
    if (!isMap(node)) return fail(`expected a mapping, got ${describe(isScalar(node) ? node.value : node.toJSON())}`);
    const known = schema.kind === 'object' ? Object.keys(schema.fields) : schema.kind === 'map' ? schema.keys : [];
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const keyNode = pair.key as Node;
      const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
      const childPath = path ? `${path}.${key}` : key;
      if (schema.kind === 'record') {
        if (!schema.keyPattern.test(key)) {
          issues.push({ path: childPath, ...at(keyNode), message: `expected a name of ${schema.keyRule}, got "${key}"` });
          continue;
        }
      } else if (!known.includes(key)) {
        const hint = suggest(key, known);
        issues.push({
          path: childPath,
          ...at(keyNode),
          message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; expected one of: ${known.join(', ')}`,
        });
        continue;
      }
      const keyPos = at(keyNode);
      if (keyPos.line) positions.set(childPath, { line: keyPos.line, col: keyPos.col! });
      const childSchema = schema.kind === 'object' ? schema.fields[key]! : schema.value;
      const valueNode = pair.value as Node | null;
      if (valueNode === null || (isScalar(valueNode) && valueNode.value === null)) {
        // `key:` with nothing after it means "use the default", like an absent key.
        continue;
      }
      const value = readNode(valueNode, childSchema, childPath, issues, positions, at, sourceOf);
      if (value !== undefined) out[key] = value;
    }
    return out;
  }

  if (!isScalar(node)) return fail(`expected a single value, got ${describe(node.toJSON())}`);
  const value = node.value;
  switch (schema.kind) {
    case 'enum': {
      if (typeof value === 'string' && schema.values.includes(value)) return value;
      const hint = schema.suggest && typeof value === 'string' ? suggest(value, schema.values) : undefined;
      return fail(`expected one of ${schema.values.map((v) => `"${v}"`).join(', ')}, got ${describe(value)}${hint ? ` (did you mean "${hint}"?)` : ''}`);
    }
    case 'port':
      return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535
        ? value
        : fail(`expected a port number from 1 to 65535, got ${describe(value)}`);
    case 'boolean':
      return typeof value === 'boolean' ? value : fail(`expected true or false, got ${describe(value)}`);
    case 'ipv4': {
      const ok =
        typeof value === 'string' &&
        /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(value) &&
        value.split('.').every((octet) => Number(octet) <= 255);
      return ok ? value : fail(`expected an IPv4 address such as 127.0.0.1 (or 0.0.0.0 for every interface), got ${describe(value)}`);
    }
    case 'version': {
      // YAML reads 15.20 as the number 15.2: insist on quotes rather than guess.
      if (typeof value === 'number') return fail(`write versions as strings (quote them: "${sourceOf(node)}"), expected e.g. "${schema.example}"`);
      return typeof value === 'string' && schema.pattern.test(value)
        ? value
        : fail(`expected a version like "${schema.example}", got ${describe(value)}`);
    }
    case 'memory':
      return typeof value === 'string' && /^\d+(\.\d+)?[kmg]$/i.test(value)
        ? value.toLowerCase()
        : fail(`expected a memory size such as "256m" or "1g", got ${describe(value)}`);
    case 'cpus':
      return typeof value === 'number' && value > 0 && value <= 64
        ? value
        : fail(`expected a number of cores greater than 0 (e.g. 0.5), got ${describe(value)}`);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) && value >= schema.min && value <= schema.max && (!schema.integer || Number.isInteger(value))
        ? value
        : fail(`expected ${schema.integer ? 'a whole number' : 'a number'} from ${schema.min} to ${schema.max}${schema.unit ? ` (${schema.unit})` : ''}, got ${describe(value)}`);
    case 'url':
      return typeof value === 'string' && (value === '' || /^https?:\/\/[^\s/]+(\/\S*)?$/.test(value))
        ? value
        : fail(`expected an http(s) URL, got ${describe(value)}`);
    case 'text':
      if (typeof value !== 'string') return fail(`expected text${schema.rule ? ` (${schema.rule})` : ''}, got ${describe(value)}`);
      return !schema.pattern || schema.pattern.test(value) ? value : fail(`expected ${schema.rule ?? `text matching ${schema.pattern}`}, got ${describe(value)}`);
    case 'breakerExpression': {
      if (typeof value !== 'string') return fail(`expected a Traefik circuitBreaker expression such as "NetworkErrorRatio() > 0.30", got ${describe(value)}`);
      const problem = checkBreakerExpression(value);
      if (!problem) return value;
      // Point at the offending character when the expression sits on one line after the key.
      const column = where.col !== undefined && node.range && !sourceOf(node).includes('\n') ? where.col + (/^['"]/.test(sourceOf(node)) ? 1 : 0) + problem.column - 1 : where.col;
      issues.push({ path, ...(where.line ? { line: where.line, col: column! } : {}), message: `invalid circuitBreaker expression: ${problem.message}` });
      return undefined;
    }
  }
}

function mergeDefaults(defaults: unknown, user: unknown): unknown {
  if (typeof defaults !== 'object' || defaults === null || Array.isArray(defaults)) return user ?? defaults;
  if (typeof user !== 'object' || user === null) return defaults;
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [key, value] of Object.entries(user as Record<string, unknown>)) {
    out[key] = key in out ? mergeDefaults(out[key], value) : value;
  }
  return out;
}

/** Published host ports of the services that will run, by config path. */
export function publishedPorts(config: ParityConfig): Array<{ path: string; port: number; service: string }> {
  const running = profileServices(config);
  const candidates: Array<{ path: string; port: number; service: string }> = [
    { path: 'ports.http', port: config.ports.http, service: 'traefik' },
    { path: 'ports.https', port: config.ports.https, service: 'traefik' },
    { path: 'ports.dashboard', port: config.ports.dashboard, service: 'traefik' },
    { path: 'ports.postgres', port: config.ports.postgres, service: config.postgres.ha === 'patroni' ? 'postgres-writer' : 'postgres-primary' },
    { path: 'ports.postgresReplica', port: config.ports.postgresReplica, service: config.postgres.ha === 'patroni' ? 'postgres-reader' : 'postgres-replica' },
    { path: 'ports.redis', port: config.ports.redis, service: 'redis' },
    { path: 'ports.s3', port: config.ports.s3, service: 's3' },
    { path: 'ports.prometheus', port: config.ports.prometheus, service: 'prometheus' },
    { path: 'ports.alertmanager', port: config.ports.alertmanager, service: 'alertmanager' },
    { path: 'ports.grafana', port: config.ports.grafana, service: 'grafana' },
  ];
  return candidates.filter((candidate) => running.has(candidate.service));
}

/** Rules across fields: port clashes, and what a profile drops that something else needs. */
function checkConsistency(config: ParityConfig, positions: Positions): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const pos = (path: string) => positions.get(path) ?? {};

  const published = new Set(publishedPorts(config).map((candidate) => candidate.service));
  config.expose.forEach((service, index) => {
    if (!published.has(service)) issues.push({ path: `expose[${index}]`, ...pos(`expose[${index}]`), message: `${service} publishes no port with this config (profile ${config.profile}, postgres.ha ${config.postgres.ha}); expected one of: ${[...published].join(', ')}` });
  });

  const seen = new Map<number, string>();
  for (const { path, port } of publishedPorts(config)) {
    const other = seen.get(port);
    if (other) issues.push({ path, ...pos(path), message: `port ${port} is already used by ${other}; each published port must be unique` });
    else seen.set(port, path);
  }

  const running = profileServices(config);
  const profileNote = `profile "${config.profile}" drops it (use profile: full)`;
  if (config.services.grafana.enabled) {
    for (const need of needsOf('grafana', config)) {
      if (!running.has(need)) issues.push({ path: 'services.grafana.enabled', ...pos('services.grafana.enabled'), message: `grafana needs ${need}, but ${profileNote}` });
    }
  }
  if (config.alerting.webhookUrl && !running.has('alertmanager')) {
    issues.push({ path: 'alerting.webhookUrl', ...pos('alerting.webhookUrl'), message: `alerting needs alertmanager, but ${profileNote}` });
  }
  if (config.services.s3.provider !== 'seaweedfs' && !running.has('s3')) {
    issues.push({ path: 'services.s3.provider', ...pos('services.s3.provider'), message: `an S3 provider was chosen, but ${profileNote}` });
  }
  issues.push(...checkPostgres(config, positions), ...checkBackup(config, positions), ...checkEdge(config, positions));
  for (const name of Object.keys(config.resources)) {
    if (!running.has(name)) {
      issues.push({ path: `resources.${name}`, ...pos(`resources.${name}`), message: `${name} does not run with this config (profile "${config.profile}" or disabled), so it can't be sized` });
    }
  }
  return issues;
}

/** Backups need the Patroni cluster and SeaweedFS (served over TLS); alert budgets must outlast the schedule. */
/**
 * Traefik's in-memory rate limiter forgets an address's bucket after a short idle time (1 s, or one
 * token's interval below 1 request/s, plus 1 s) and starts it again full. A burst larger than what
 * the bucket refills in that time would come back every few seconds: at 100/min with burst 20, a
 * client sending 20 at once every 2 s got ~600/min through (measured). So the burst may not exceed it.
 */
export function largestSafeBurst(average: number, periodSeconds: number): number {
  const rate = average / periodSeconds;
  return Math.max(1, Math.floor(rate * forgetSeconds(rate)));
}

/** How long Traefik keeps an idle address's bucket, at `rate` requests per second. */
const forgetSeconds = (rate: number): number => (rate >= 1 ? 1 : Math.floor(1 / rate)) + 1;

function checkEdge(config: ParityConfig, positions: Positions): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const limit = config.edge.rateLimit;
  const check = (path: string, average: number, burst: number) => {
    const largest = largestSafeBurst(average, limit.periodSeconds);
    if (burst <= largest) return;
    const at = positions.has(`${path}.burst`) ? `${path}.burst` : path;
    issues.push({
      path: at,
      ...(positions.get(at) ?? {}),
      message: `expected at most ${largest} for ${average} requests per ${limit.periodSeconds} s, got ${burst}: Traefik starts an idle address's bucket full again after ${forgetSeconds(average / limit.periodSeconds)} s, so a larger burst would pass again every few seconds`,
    });
  };
  if (!limit.enabled) return issues;
  check('edge.rateLimit', limit.average, limit.burst);
  for (const [prefix, bucket] of Object.entries(limit.routes)) check(`edge.rateLimit.routes.${prefix}`, bucket.average, bucket.burst);
  return issues;
}

function checkBackup(config: ParityConfig, positions: Positions): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const pos = (path: string) => positions.get(path) ?? {};
  const { backup } = config;
  if (config.dr.enabled && !backup.enabled) {
    const path = positions.has('dr.enabled') ? 'dr.enabled' : 'dr';
    issues.push({ path, ...pos(path), message: 'a DR region needs backup.enabled: true (the standby cluster falls back to the WAL archive, which lives in the DR region)' });
  }
  if (!backup.enabled) return issues;
  const enabledAt = positions.has('backup.enabled') ? 'backup.enabled' : 'backup';
  if (config.postgres.ha !== 'patroni') {
    issues.push({ path: enabledAt, ...pos(enabledAt), message: 'backups need postgres.ha: patroni (pgBackRest archives from whichever Patroni node leads); set postgres.ha: patroni or backup.enabled: false' });
  }
  if (config.services.s3.provider !== 'seaweedfs') {
    issues.push({ path: enabledAt, ...pos(enabledAt), message: 'backups need services.s3.provider: seaweedfs (the stack serves it over TLS for pgBackRest); set it, or backup.enabled: false' });
  }
  if (backup.diffIntervalSeconds > backup.fullIntervalSeconds) {
    const path = positions.has('backup.diffIntervalSeconds') ? 'backup.diffIntervalSeconds' : 'backup.fullIntervalSeconds';
    issues.push({ path, ...pos(path), message: `expected diffIntervalSeconds (${backup.diffIntervalSeconds}) ≤ fullIntervalSeconds (${backup.fullIntervalSeconds}): a differential backup is taken between full ones` });
  }
  const newest = Math.min(backup.diffIntervalSeconds, backup.fullIntervalSeconds);
  if (backup.alerts.backupAgeSeconds <= newest) {
    const path = 'backup.alerts.backupAgeSeconds';
    issues.push({ path, ...pos(path), message: `expected more than the backup interval (${newest} s), got ${backup.alerts.backupAgeSeconds}: the alert would fire between every two scheduled backups` });
  }
  if (backup.alerts.walAgeSeconds <= backup.archiveTimeoutSeconds) {
    const path = 'backup.alerts.walAgeSeconds';
    issues.push({ path, ...pos(path), message: `expected more than backup.archiveTimeoutSeconds (${backup.archiveTimeoutSeconds} s), got ${backup.alerts.walAgeSeconds}: WAL waits up to that long by design` });
  }
  if (backup.alerts.filesAgeSeconds <= backup.filesIntervalSeconds) {
    const path = 'backup.alerts.filesAgeSeconds';
    issues.push({ path, ...pos(path), message: `expected more than backup.filesIntervalSeconds (${backup.filesIntervalSeconds} s), got ${backup.alerts.filesAgeSeconds}: the alert would fire between every two copies` });
  }
  return issues;
}

/** Patroni's own rule on its timings, and settings that only mean something with Patroni. */
function checkPostgres(config: ParityConfig, positions: Positions): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const pos = (path: string) => positions.get(path) ?? {};
  const { ttl, loopWait, retryTimeout } = config.postgres.patroni;
  if (loopWait + 2 * retryTimeout > ttl) {
    const path = positions.has('postgres.patroni.ttl') ? 'postgres.patroni.ttl' : positions.has('postgres.patroni.loopWait') ? 'postgres.patroni.loopWait' : 'postgres.patroni.retryTimeout';
    issues.push({
      path,
      ...pos(path),
      message:
        `loopWait ${loopWait} + 2 × retryTimeout ${retryTimeout} = ${loopWait + 2 * retryTimeout} s is more than ttl ${ttl} s; ` +
        'Patroni requires loopWait + 2 × retryTimeout ≤ ttl, or a leader could lose its lease before it notices (raise ttl or lower the others)',
    });
  }
  if (retryTimeout < 2) {
    const path = 'postgres.patroni.retryTimeout';
    issues.push({
      path,
      ...pos(path),
      message:
        `expected at least 2 s, got ${retryTimeout}: Patroni 3.0.2's etcd3 backend gives up taking the leader lock when less than 1 s of retry_timeout ` +
        'is left after renewing its lease, so no replica could ever be promoted (measured: the cluster stays leaderless after the leader dies)',
    });
  }
  if (config.postgres.synchronousStrict && !config.postgres.synchronous) {
    issues.push({ path: 'postgres.synchronousStrict', ...pos('postgres.synchronousStrict'), message: 'expected synchronous: true as well (strict mode is a variant of synchronous mode)' });
  }
  if (config.postgres.ha === 'streaming') {
    for (const key of ['nodes', 'synchronous', 'synchronousStrict', 'dcsProxy', 'patroni']) {
      const path = `postgres.${key}`;
      if (positions.has(path)) issues.push({ path, ...pos(path), message: 'only applies with postgres.ha: patroni (streaming runs one primary and one replica)' });
    }
  }
  return issues;
}
