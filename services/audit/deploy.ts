/**
 * The deploy runner's audit entries, pure: what `deploy.start`, `deploy.finish` and
 * `deploy.rollback` record (the actor, the operator, is added by the runner).
 */
import type { Color } from '../config/schema.js';
import { canaryVerdict, durationDetail, type DeployAuditEntry } from './log.js';

export type DeployEntry = Omit<DeployAuditEntry, 'actor'>;

/** One side of a deploy or rollback: a color and the version it runs. */
export interface Side {
  readonly color: Color;
  readonly version: string;
}

/** What every entry of one deploy says: which services, from which side to which. */
export interface DeploySides {
  readonly from: Side;
  readonly to: Side;
  /** The compose services of the color that changes (`events-green`, …). */
  readonly services: readonly string[];
}

const sidesDetail = (sides: DeploySides) => ({ services: sides.services, from: sides.from, to: sides.to, color: sides.to.color });

/** A deploy begins: the version it brings, the image or fault it was asked for. */
export function deployStartEntry(
  sides: DeploySides,
  asked: { readonly image?: string; readonly images?: Readonly<Record<string, string | undefined>>; readonly digests?: Readonly<Record<string, string | undefined>>; readonly fault?: string } = {},
): DeployEntry {
  return { action: 'deploy.start', subject: sides.to.version, outcome: 'ok', detail: { ...sidesDetail(sides), ...asked } };
}

/** A deploy ends: promoted (`ok`) or rolled back (`failed`), with the canary's verdict and its duration. */
export function deployFinishEntry(sides: DeploySides, result: 'promoted' | 'rolled-back', durationMs: number, failedGate?: string, reasons: readonly string[] = []): DeployEntry {
  return {
    action: 'deploy.finish',
    subject: sides.to.version,
    outcome: result === 'promoted' ? 'ok' : 'failed',
    detail: { ...sidesDetail(sides), result, canary: canaryVerdict(result, failedGate, reasons), ...(failedGate ? { failedGate, reasons } : {}), ...durationDetail(durationMs) },
  };
}

/**
 * Traffic goes back to `sides.to`: by `make rollback` or, `automatic`, by a deploy whose gate
 * failed (`because` says which). The subject is the version that serves again.
 */
export function rollbackEntry(sides: DeploySides, durationMs: number, automatic: boolean, because: Readonly<Record<string, unknown>> = {}): DeployEntry {
  return { action: 'deploy.rollback', subject: sides.to.version, outcome: 'ok', detail: { ...sidesDetail(sides), automatic, ...because, ...durationDetail(durationMs) } };
}
