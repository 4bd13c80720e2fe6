/**
 * The contract as a gate: before `make up` starts a developer's image (or build) in a stub's place,
 * and before a deploy routes users to one, the platform contract must have passed for that exact
 * image (its engine ID) with the service's settings. A pure judgement over the runs on record
 * (`make contract`'s reports); the runner (scripts/runners/dev/contract-gate.ts) runs the contract
 * when there is none. `services.<name>.contract: warn` lets a failing image through, saying so.
 */

/** How a failing contract is treated: refused (default), or let through with a warning. */
export const CONTRACT_MODES = ['enforce', 'warn'] as const;
export type ContractMode = (typeof CONTRACT_MODES)[number];

/** One `make contract` run on record, as the gate reads it. */
export interface ContractRecord {
  readonly service: string;
  readonly image: string;
  readonly imageId?: string;
  /** The service's settings the run used (port, health, env, envMap): a change asks for a new run. */
  readonly settingsKey?: string;
  readonly passed: boolean;
  readonly startedAt: string;
  /** The clauses that failed (ids). */
  readonly failed: readonly string[];
  /** Where its report is. */
  readonly dir: string;
}

export interface GateRequest {
  readonly service: string;
  readonly image: string;
  readonly imageId: string;
  readonly settingsKey: string;
  readonly mode: ContractMode;
}

export type GateVerdict =
  | { readonly action: 'route'; readonly why: string }
  | { readonly action: 'run'; readonly why: string }
  | { readonly action: 'warn'; readonly why: string }
  | { readonly action: 'refuse'; readonly why: string };

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** The newest run for this image and settings decides; none on record: run the contract first. */
export function judgeGate(request: GateRequest, records: readonly ContractRecord[]): GateVerdict {
  const subject = `${request.service} (${request.image}, image ${short(request.imageId)})`;
  const matching = records
    .filter((record) => record.service === request.service && record.imageId === request.imageId && record.settingsKey === request.settingsKey)
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  const newest = matching[0];
  if (!newest) return { action: 'run', why: `${subject}: no contract run on record for this image and these settings` };
  if (newest.passed) return { action: 'route', why: `${subject}: passed the platform contract at ${newest.startedAt}` };
  const failed = `failed the platform contract at ${newest.startedAt} (${newest.failed.join(', ') || 'it did not run to the end'}; report: ${newest.dir})`;
  return request.mode === 'warn'
    ? { action: 'warn', why: `${subject}: ${failed}; routed anyway, because services.${request.service}.contract is warn` }
    : { action: 'refuse', why: `${subject}: ${failed}. Nothing was routed to it. Fix the clauses (make contract SERVICE=${request.service} IMAGE=${request.image}), or set services.${request.service}.contract: warn to route it anyway` };
}
