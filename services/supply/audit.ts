/** `npm audit --json` judged by the policy: which advisories fail, which are accepted, which are reported. */
import { SEVERITIES, type AcceptedAdvisory, type Outcome, type Severity, type SupplyPolicy } from './policy.js';
import type { CheckReport, Finding } from './report.js';

/** What `npm audit --json` answered: a report, or why there is none. */
export type AuditAnswer = { readonly kind: 'report'; readonly report: NpmAuditReport } | { readonly kind: 'unreachable'; readonly reason: string };

/** The part of npm's audit report (v2) the check reads. */
export interface NpmAuditReport {
  readonly vulnerabilities: Readonly<
    Record<string, { readonly nodes?: readonly string[]; readonly via?: readonly (string | { readonly source?: number; readonly url?: string; readonly title?: string; readonly severity?: string })[] }>
  >;
}

/** The lock file's view of installed paths (`node_modules/x`): which are devDependencies only. */
export type LockPackages = Readonly<Record<string, { readonly dev?: boolean }>>;

/**
 * Read npm audit's stdout. npm prints a report, or (endpoint down, a mirror without the audit
 * API: a 405, no network) an error object or nothing: those mean no verdict could be had.
 */
export function readAuditOutput(stdout: string): AuditAnswer {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    return { kind: 'unreachable', reason: stdout.trim() ? `npm audit printed no JSON (${stdout.trim().split('\n')[0]!.slice(0, 120)})` : 'npm audit printed nothing' };
  }
  const fields = (json ?? {}) as Record<string, unknown>;
  if (fields.vulnerabilities && typeof fields.vulnerabilities === 'object') return { kind: 'report', report: json as NpmAuditReport };
  const error = fields.error as { summary?: string } | undefined;
  const reason = [fields.message, error?.summary].find((text) => typeof text === 'string' && text.trim()) ?? 'no vulnerabilities field in its answer';
  return { kind: 'unreachable', reason: String(reason) };
}

interface Advisory {
  readonly id: string;
  readonly packageName: string;
  readonly severity: Severity;
  readonly title: string;
  readonly devOnly: boolean;
}

/** One entry per advisory and package it sits in (npm lists packages reached through others by name only). */
function advisoriesOf(report: NpmAuditReport, lock: LockPackages): Advisory[] {
  const seen = new Map<string, Advisory>();
  for (const [packageName, entry] of Object.entries(report.vulnerabilities)) {
    const nodes = entry.nodes ?? [];
    // A package is production when any of its installed copies is (npm's `dev` marks dev-only paths).
    const devOnly = nodes.length > 0 && nodes.every((node) => lock[node]?.dev === true);
    for (const via of entry.via ?? []) {
      if (typeof via === 'string') continue;
      const id = /GHSA-[\w-]+/.exec(via.url ?? '')?.[0] ?? String(via.source ?? 'unknown');
      const severity = (SEVERITIES as readonly string[]).includes(via.severity ?? '') ? (via.severity as Severity) : 'critical';
      seen.set(`${id} ${packageName}`, { id, packageName, severity, title: via.title ?? '', devOnly });
    }
  }
  return [...seen.values()];
}

function acceptanceOf(advisory: Advisory, accepted: readonly AcceptedAdvisory[]): AcceptedAdvisory | undefined {
  return accepted.find((entry) => entry.advisory === advisory.id || entry.advisory === advisory.packageName);
}

function judgeAdvisory(advisory: Advisory, policy: SupplyPolicy, today: string): Finding {
  const subject = `${advisory.id} (${advisory.packageName}, ${advisory.severity})`;
  const about = advisory.title ? `${advisory.title}; ` : '';
  if (advisory.devOnly) return { outcome: policy.audit.devOnly, subject, message: `${about}dev dependencies only, never built into an image (audit.devOnly: ${policy.audit.devOnly})` };
  const rule = policy.audit.severities[advisory.severity];
  if (rule === 'report') return { outcome: 'report', subject, message: `${about}production, ${advisory.severity} is reported only (audit.severities.${advisory.severity})` };
  if (rule === 'fail') return { outcome: 'fail', subject, message: `${about}production dependency; ${advisory.severity} fails (audit.severities.${advisory.severity}: fail), fix or upgrade it` };
  const accepted = acceptanceOf(advisory, policy.audit.accepted);
  if (!accepted) return { outcome: 'fail', subject, message: `${about}production dependency; ${advisory.severity} needs an entry in audit.accepted with a reason and an expiry date` };
  if (accepted.expires < today) return { outcome: 'fail', subject, message: `${about}its acceptance expired on ${accepted.expires} (reason was: ${accepted.reason}); fix it or renew the entry` };
  return { outcome: 'report', subject, message: `${about}accepted until ${accepted.expires}: ${accepted.reason}` };
}

/** The audit check: every advisory judged; `today` is `YYYY-MM-DD` (UTC), for the expiry dates. */
export function judgeAudit(answer: AuditAnswer, lock: LockPackages, policy: SupplyPolicy, today: string): CheckReport {
  if (answer.kind === 'unreachable') {
    const outcome: Outcome = policy.audit.unreachable;
    return {
      check: 'audit',
      counts: [['advisories', 'unknown: no audit answer']],
      findings: [{ outcome, subject: 'npm audit', message: `the audit endpoint could not be used (${answer.reason}); no advisories were checked (audit.unreachable: ${outcome})` }],
    };
  }
  const advisories = advisoriesOf(answer.report, lock);
  const findings = advisories.map((advisory) => judgeAdvisory(advisory, policy, today));
  const production = advisories.filter((advisory) => !advisory.devOnly);
  const bySeverity = [...SEVERITIES].reverse().map((severity) => `${severity} ${production.filter((a) => a.severity === severity).length}`);
  // Acceptances nobody needs any more are noise that hides the live ones.
  const unused = policy.audit.accepted.filter((entry) => !advisories.some((advisory) => acceptanceOf(advisory, [entry])));
  return {
    check: 'audit',
    counts: [
      ['advisories (production)', `${production.length}: ${bySeverity.join(', ')}`],
      ['advisories (dev only)', advisories.length - production.length],
      ['accepted (policy)', findings.filter((f) => f.message.includes('accepted until')).length],
    ],
    findings: [
      ...findings,
      ...unused.map((entry): Finding => ({ outcome: 'warn', subject: entry.advisory, message: `listed in audit.accepted but no longer reported by npm audit: remove the entry` })),
    ],
  };
}
