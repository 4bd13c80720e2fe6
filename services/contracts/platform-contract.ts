/**
 * The platform contract: what a service must do for the stack to run it in a stub's place — each
 * clause a pure judgement over evidence the contract runner collects (scripts/runners/dev/contract.ts),
 * with what breaks when it fails. The same list renders the published document and the JSON
 * Schema of a service's `/health` answer (`make gen`: compose/contract/).
 */
import { COLOR_HEADER, SERVICE_HEADER, VERSION_HEADER } from './http.js';
import type { RouteAccess } from './routes.js';

/** What the runner saw; a field left out was not measured (its clause is judged "not measured"). */
export interface ContractEvidence {
  readonly service: string;
  /** Start → the first 2xx from the liveness path, or undefined when it never answered within the budget. */
  readonly bootMs?: number;
  readonly bootBudgetMs: number;
  /** The liveness answer's status with every data store cut (Toxiproxy: writer and reader disabled). */
  readonly livenessWithoutDatabase?: number;
  /** Whether the service uses the database (the frontend reaches the APIs only): the database clauses apply only then. @default true */
  readonly usesDatabase?: boolean;
  /** The readiness answer with the database cut: status and body. */
  readonly readinessWithoutDatabase?: { readonly status: number; readonly body: string };
  /** The readiness answer with everything up. */
  readonly readiness?: { readonly status: number; readonly body: string };
  /** The headers of an anonymous API answer (lower-case names). */
  readonly apiHeaders?: Readonly<Record<string, string | undefined>>;
  /** The text of `/metrics`. */
  readonly metrics?: string;
  /** Write routes that need a signed-in user, called directly without credentials: path and status (empty: the service has none). */
  readonly unauthenticatedWrites?: readonly { readonly route: string; readonly status: number }[];
  /**
   * Every route of the service's route table called directly (past the edge) as each identity: no
   * token, then a live session's token of member, editor and admin. `admitted`: the route table
   * says this identity may call it.
   */
  readonly rbac?: readonly { readonly route: string; readonly identity: RouteAccess; readonly admitted: boolean; readonly status: number }[];
  /** Bad credentials on a route that needs a signed-in user (`route`): each case and the status it got. */
  readonly badTokens?: { readonly route: string; readonly answers: readonly { readonly case: string; readonly status: number }[] };
  /** After the signing keys were rotated: the status a token of the new key got on the same route, or undefined when not tried. */
  readonly rotatedKeyStatus?: number;
  /** After a restart (its migrations run again on the migrated schema): ms until ready, or undefined. */
  readonly restartReadyMs?: number;
  /** A request in flight when SIGTERM arrived: its status, or the error it got. */
  readonly inFlightAtSigterm?: { readonly status?: number; readonly error?: string };
}

/** `not applicable`: the clause is about something the service doesn't have (the frontend has no database); it holds. */
export type ClauseVerdict = 'pass' | 'fail' | 'not measured' | 'not applicable';

/** A clause that passed, or does not apply: what the contract (and its gate) accepts. */
export const clauseHolds = (verdict: ClauseVerdict): boolean => verdict === 'pass' || verdict === 'not applicable';

export interface ClauseResult {
  readonly id: string;
  readonly title: string;
  readonly verdict: ClauseVerdict;
  /** What was seen. */
  readonly evidence: string;
  /** What breaks in the stack when this clause fails. */
  readonly breaks: string;
}

interface Clause {
  readonly id: string;
  readonly title: string;
  readonly breaks: string;
  readonly judge: (e: ContractEvidence) => { readonly verdict: ClauseVerdict; readonly evidence: string };
}

const notMeasured = (what: string) => ({ verdict: 'not measured' as const, evidence: `${what} was not measured` });
const okIf = (ok: boolean, evidence: string) => ({ verdict: ok ? ('pass' as const) : ('fail' as const), evidence });
const is2xx = (status: number | undefined) => status !== undefined && status >= 200 && status < 300;

/** The metrics the stack reads, and what each one feeds. */
export const REQUIRED_METRICS: readonly { readonly name: string; readonly feeds: string }[] = [
  { name: 'http_requests_total', feeds: "the deploy canary's error rate and the alert on 5xx" },
  { name: 'http_request_duration_seconds', feeds: "the deploy canary's p95" },
  { name: 'http_requests_in_flight', feeds: 'deploy drain cannot wait for in-flight requests' },
];

/** `/health`'s answer, as the deploy gate reads it (IETF health+json's status). */
export const HEALTH_STATUSES = ['pass', 'warn', 'fail'] as const;

const healthStatus = (body: string): string | undefined => {
  try {
    const parsed = JSON.parse(body) as { status?: unknown };
    return typeof parsed.status === 'string' ? parsed.status : undefined;
  } catch {
    return undefined;
  }
};

export const CLAUSES: readonly Clause[] = [
  {
    id: 'boots',
    title: 'boots and answers its liveness path within the budget',
    breaks: 'make up and a deploy wait for it, then give up',
    judge: (e) => (e.bootMs === undefined ? { verdict: 'fail', evidence: `no 2xx from the liveness path within ${e.bootBudgetMs / 1000} s` } : okIf(e.bootMs <= e.bootBudgetMs, `first 2xx after ${(e.bootMs / 1000).toFixed(1)} s (budget ${e.bootBudgetMs / 1000} s)`)),
  },
  {
    id: 'liveness-without-data-stores',
    title: 'liveness does not depend on its data stores',
    breaks: 'Traefik and the orchestrator take it out (or restart it) whenever a database blips, turning a dependency outage into its own',
    judge: (e) => (e.livenessWithoutDatabase === undefined ? notMeasured('liveness with the database cut') : okIf(is2xx(e.livenessWithoutDatabase), `liveness answered ${e.livenessWithoutDatabase} with the database cut`)),
  },
  {
    id: 'readiness-names-dependency',
    title: 'readiness fails when its database is cut, and names it',
    breaks: 'make up, the probe and a deploy gate call it ready while it cannot serve; the operator cannot tell which dependency failed',
    judge: (e) => {
      if (e.usesDatabase === false) return { verdict: 'not applicable', evidence: `${e.service} uses no database (it reaches the APIs only)` };
      const r = e.readinessWithoutDatabase;
      if (!r) return notMeasured('readiness with the database cut');
      const failed = !is2xx(r.status) || healthStatus(r.body) === 'fail';
      const named = /postgres|database|writer|reader/i.test(r.body);
      return okIf(failed && named, `answered ${r.status}${healthStatus(r.body) ? ` status ${healthStatus(r.body)}` : ''}; ${named ? 'names the database' : `does not name the database (${r.body.replace(/\s+/g, ' ').slice(0, 100) || 'empty body'})`}`);
    },
  },
  {
    id: 'health-format',
    title: '/health answers {"status": "pass" | "warn" | "fail", …}',
    breaks: "the deploy's L1–L3 gate refuses the new color",
    judge: (e) => {
      if (!e.readiness) return notMeasured('readiness');
      const status = healthStatus(e.readiness.body);
      return okIf(is2xx(e.readiness.status) && (status === 'pass' || status === 'warn'), `answered ${e.readiness.status}, status ${status ?? '(not JSON with a status)'}`);
    },
  },
  {
    id: 'headers',
    title: `answers carry ${SERVICE_HEADER} (its name), ${COLOR_HEADER} and ${VERSION_HEADER}`,
    breaks: 'deploy gates and drills cannot tell which color and version answered; the L4 smoke journeys fail',
    judge: (e) => {
      if (!e.apiHeaders) return notMeasured('an API answer');
      const missing = [SERVICE_HEADER, COLOR_HEADER, VERSION_HEADER].filter((name) => !e.apiHeaders![name.toLowerCase()]);
      const wrongName = e.apiHeaders[SERVICE_HEADER.toLowerCase()] && e.apiHeaders[SERVICE_HEADER.toLowerCase()] !== e.service;
      return okIf(missing.length === 0 && !wrongName, missing.length ? `missing ${missing.join(', ')}` : wrongName ? `${SERVICE_HEADER}: ${e.apiHeaders[SERVICE_HEADER.toLowerCase()]}, expected ${e.service}` : 'all present');
    },
  },
  {
    id: 'metrics',
    title: `/metrics has ${REQUIRED_METRICS.map((m) => m.name).join(', ')}`,
    breaks: 'the features named beside each missing metric',
    judge: (e) => {
      if (e.metrics === undefined) return notMeasured('/metrics');
      const missing = REQUIRED_METRICS.filter((m) => !new RegExp(`^${m.name}(\\{|_bucket|_sum|_count| )`, 'm').test(e.metrics!));
      return okIf(missing.length === 0, missing.length ? missing.map((m) => `no ${m.name}: ${m.feeds}`).join('; ') : 'all present');
    },
  },
  {
    id: 'writes-need-credentials',
    title: 'write routes refuse a request without credentials (401/403), even past the edge',
    breaks: 'anything on the apps network can write as anyone; the edge is the only check (no defence in depth)',
    judge: (e) => {
      if (!e.unauthenticatedWrites) return notMeasured('write routes');
      if (!e.unauthenticatedWrites.length) return { verdict: 'not applicable', evidence: `${e.service} has no write route that needs a signed-in user` };
      const accepted = e.unauthenticatedWrites.filter((w) => w.status !== 401 && w.status !== 403);
      return okIf(accepted.length === 0, accepted.length ? accepted.map((w) => `${w.route} answered ${w.status}`).join(', ') : `${e.unauthenticatedWrites.length} refused`);
    },
  },
  {
    id: 'rbac',
    title: "every route answers as the route table's role says, past the edge: 401/403 below the role, anything else at or above it",
    breaks: 'a member writes what only editors may, or a signed-in user is refused a page the platform promises them; the edge is the only check',
    judge: (e) => {
      if (!e.rbac?.length) return notMeasured('the route table');
      const refused = (status: number) => status === 401 || status === 403;
      const wrong = e.rbac.filter((call) => call.admitted === refused(call.status));
      const routes = new Set(e.rbac.map((call) => call.route)).size;
      return okIf(
        wrong.length === 0,
        wrong.length
          ? wrong.slice(0, 6).map((call) => `${call.route} as ${call.identity}: ${call.status} (expected ${call.admitted ? 'admitted' : '401/403'})`).join('; ') + (wrong.length > 6 ? `; and ${wrong.length - 6} more` : '')
          : `${routes} routes × ${new Set(e.rbac.map((call) => call.identity)).size} identities as the table says`,
      );
    },
  },
  {
    id: 'tokens-verified',
    title: 'refuses forged, expired and unknown-kid tokens, and identity headers without a token (401)',
    breaks: "anyone on the apps network (or a leaked old token) acts as any user: the service trusts what it can't verify",
    judge: (e) => {
      if (!e.badTokens?.answers.length) return notMeasured('bad tokens');
      const accepted = e.badTokens.answers.filter((answer) => answer.status !== 401 && answer.status !== 403);
      return okIf(accepted.length === 0, accepted.length ? `${e.badTokens.route}: ${accepted.map((answer) => `${answer.case} → ${answer.status}`).join(', ')}` : `${e.badTokens.route}: ${e.badTokens.answers.map((answer) => answer.case).join(', ')}: all refused`);
    },
  },
  {
    id: 'rotated-key',
    title: 'accepts a token of a rotated signing key without a restart (re-reads the public keys on an unknown kid)',
    breaks: '`make rotate` of the signing keys logs every user out of this service until it restarts',
    judge: (e) => {
      if (e.rotatedKeyStatus === undefined) return notMeasured('a rotated key');
      const refused = e.rotatedKeyStatus === 401 || e.rotatedKeyStatus === 403;
      return okIf(!refused, `a token of the new key got ${e.rotatedKeyStatus}${e.badTokens ? ` on ${e.badTokens.route}` : ''}`);
    },
  },
  {
    id: 'migrations-idempotent',
    title: 'starts again on its own migrated schema, under its own role',
    breaks: 'a restart, the second color or a rollback fails on its own migrations',
    judge: (e) => (e.restartReadyMs === undefined ? { verdict: 'fail', evidence: 'not ready again after a restart' } : okIf(true, `ready again ${(e.restartReadyMs / 1000).toFixed(1)} s after a restart`)),
  },
  {
    id: 'sigterm-drains',
    title: 'on SIGTERM, finishes the requests in flight before it exits',
    breaks: "users' requests fail at every deploy's drain and every restart",
    judge: (e) => {
      const r = e.inFlightAtSigterm;
      if (!r) return notMeasured('a request in flight at SIGTERM');
      return okIf(is2xx(r.status), r.status !== undefined ? `the request in flight got ${r.status}` : `the request in flight got no answer (${r.error ?? 'connection closed'})`);
    },
  },
];

/** Every clause judged, in order. */
export function judgeContract(evidence: ContractEvidence): ClauseResult[] {
  return CLAUSES.map((clause) => ({ id: clause.id, title: clause.title, breaks: clause.breaks, ...clause.judge(evidence) }));
}

/** The published document (markdown), from the same clauses. */
export function contractDocument(): string {
  return [
    '<!-- GENERATED by `make gen` from services/contracts/platform-contract.ts: edit there, not here -->',
    '# The platform contract',
    '',
    'What a service must do to run in a stub\'s place. `make contract SERVICE=… [IMAGE=…]` checks it against a candidate image; `health.schema.json` beside this file is the JSON Schema of a `/health` answer.',
    '',
    '| clause | what | when it fails |',
    '| --- | --- | --- |',
    ...CLAUSES.map((c) => `| \`${c.id}\` | ${c.title} | ${c.breaks} |`),
    '',
    'Metrics and what they feed:',
    '',
    ...REQUIRED_METRICS.map((m) => `- \`${m.name}\`: ${m.feeds}`),
    '',
  ].join('\n');
}

/** JSON Schema of a service's `/health` answer, for the teams' own CI. */
export function healthSchema(): object {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Parity platform service /health answer',
    description: 'GENERATED by `make gen` from services/contracts/platform-contract.ts: the answer the deploy gate and the probes read',
    type: 'object',
    required: ['status'],
    properties: {
      status: { enum: [...HEALTH_STATUSES], description: 'pass or warn: ready (HTTP 2xx); fail: not ready (HTTP 503), with the failing dependency named in checks' },
      checks: { type: 'object', description: 'one entry per dependency (postgres-writer, postgres-reader, redis, s3, …)' },
    },
  };
}
