/**
 * `make rotate-secrets`: new secrets on the running stack without downtime, one step per family
 * (ROTATION_STEPS, in that order): each puts its new secret where its readers find it, then checks
 * that it is live. The containers' copies (`secrets/uid-<uid>/…`) are rewritten in place, since
 * compose bind-mounts them by inode; nothing users reach is restarted.
 */
import { RotationError } from '../../../services/errors.js';
import type { Progress } from '../core/progress.js';
import { dashboardStep } from './dashboard.js';
import { postgresStep } from './postgres.js';
import { redisStep } from './redis.js';
import { signingKeysStep } from './signing-keys.js';
import { selectSteps, type RotationContext, type RotationStep, type StepResult } from './steps.js';
import type { ComposeTarget } from '../clients/engine.js';

export { RotationError };
export type { RotationStep, StepResult };

/** Every step, in the order a full rotation runs them. */
export const ROTATION_STEPS: readonly RotationStep[] = [signingKeysStep, redisStep, postgresStep, dashboardStep];

export interface RotationOptions {
  /** Step names (comma-separated); every step when absent (`selectSteps`). */
  readonly only?: string;
  /** @default 30000 */
  readonly timeoutMs?: number;
  /** @default 5000 (see RotationContext.graceMs) */
  readonly graceMs?: number;
  /** @default ROTATION_STEPS */
  readonly steps?: readonly RotationStep[];
}

export interface RotationResult {
  readonly steps: readonly StepResult[];
  readonly tookMs: number;
}

/** A step's line for people: what it rotated, how long it took, what it checked. */
export const formatStepLine = (step: StepResult): string => `${step.name}: rotated in ${(step.tookMs / 1000).toFixed(1)} s; ${step.summary}`;

/**
 * Run the chosen steps one after the other; the first that fails stops the rotation with its
 * error (the steps before it are done, the message says what still works). Needs root: the
 * containers' copies belong to their users.
 */
export async function rotateSecrets(target: ComposeTarget, progress: Progress, options: RotationOptions = {}): Promise<RotationResult> {
  const steps = selectSteps(options.steps ?? ROTATION_STEPS, options.only);
  if (process.getuid?.() !== 0) {
    throw new RotationError('rotating in place needs root (the containers\' copies belong to their users); nothing was changed');
  }
  const context: RotationContext = { target, progress, timeoutMs: options.timeoutMs ?? 30_000, graceMs: options.graceMs ?? 5000 };
  const started = performance.now();
  const results: StepResult[] = [];
  for (const step of steps) {
    const stepStarted = performance.now();
    progress.step(`${step.name}: ${step.rotates}`);
    try {
      const state = await step.run(context);
      const report = await step.check(context, state);
      results.push({ name: step.name, rotates: step.rotates, ...report, tookMs: Math.round(performance.now() - stepStarted) });
    } finally {
      progress.done();
    }
    progress.info(formatStepLine(results.at(-1)!));
  }
  return { steps: results, tookMs: Math.round(performance.now() - started) };
}
