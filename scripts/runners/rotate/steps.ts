/**
 * `make rotate-secrets` as a list of steps, each rotating one family of secrets on the running
 * stack: it makes the new secret, puts it where its readers find it (`run`), then checks that the
 * new one is live (`check`). The runner times each step and reports them one by one.
 */
import { UsageError } from '../../../services/errors.js';
import type { Progress } from '../core/progress.js';
import type { ComposeTarget } from '../clients/engine.js';

export interface RotationContext {
  readonly target: ComposeTarget;
  readonly progress: Progress;
  /** The longest a step waits for one thing (a container healthy, a service on the new secret). */
  readonly timeoutMs: number;
  /**
   * Redis: how long the old and the new password both log in after the clients' files hold the
   * new one, for connections being opened with the old one at that moment.
   * @default 5000
   */
  readonly graceMs: number;
}

/** What a step says about its rotation: one line for people, details for machines (never a secret). */
export interface StepReport {
  readonly summary: string;
  readonly details: Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;
}

/**
 * One family of secrets. `run` returns what `check` needs (held in memory only); both throw a
 * named error (RotationError, StackNotUpError) that says what still works.
 */
export interface RotationStep<State = unknown> {
  /** What `--only` / `ONLY=` call it. */
  readonly name: string;
  /** What it rotates, for `--help` and the report. */
  readonly rotates: string;
  run(context: RotationContext): Promise<State>;
  /** Resolves once the new secret is what the stack uses; throws when it isn't after `timeoutMs`. */
  check(context: RotationContext, state: State): Promise<StepReport>;
}

/** A step's outcome in the runner's result (`FORMAT=json`). */
export interface StepResult extends StepReport {
  readonly name: string;
  readonly rotates: string;
  /** From the start of `run` to the end of `check`. */
  readonly tookMs: number;
}

/**
 * The steps `only` names (comma- or space-separated, as `ONLY=redis,dashboard` passes them), in
 * the list's order whatever the order given; every step when `only` is empty. An unknown name is
 * bad input (exit 2) and lists the valid ones.
 */
export function selectSteps<T extends Pick<RotationStep, 'name'>>(steps: readonly T[], only: string | undefined): T[] {
  const wanted = (only ?? '').split(/[\s,]+/).filter(Boolean);
  if (wanted.length === 0) return [...steps];
  const names = steps.map((step) => step.name);
  const unknown = wanted.filter((name) => !names.includes(name));
  if (unknown.length > 0) {
    throw new UsageError(`--only: unknown step${unknown.length > 1 ? 's' : ''} ${unknown.map((name) => `"${name}"`).join(', ')}; the steps are ${names.join(', ')}`);
  }
  return steps.filter((step) => wanted.includes(step.name));
}
