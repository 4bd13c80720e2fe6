/**
 * Every drill's life: `startDrillRun` makes the run object (clock, phase recorder, the tag on the
 * drill's own rows, the lists the report is built from, the undo stack), `checkAborted` stops it
 * between phases on Ctrl-C or SIGTERM, `undoAll` puts back what its fault changed, and
 * `concludeDrill` (report.ts) builds, saves and judges its report.
 */
import type { ParityConfig } from '../../../services/config/schema.js';
import type { Marker, Sample } from '../../../services/drills/model.js';
import { DrillError, InterruptedError } from '../../../services/errors.js';
import type { RunResult } from '../core/exec.js';
import { createPhaseRecorder, type PhaseRecorder } from '../core/phases.js';
import type { Progress } from '../core/progress.js';
import type { ComposeTarget } from '../clients/engine.js';

/** What every drill is given. */
export interface DrillOptions {
  readonly target: ComposeTarget;
  readonly config: ParityConfig;
  readonly progress: Progress;
  /** Ctrl-C / SIGTERM: the drill stops, puts back what it changed, and reports. */
  readonly signal?: AbortSignal;
}

/** One step of putting back what a fault changed. */
export interface Undo {
  /** What is put back, for the report ("started postgres-1 again"). */
  readonly what: string;
  run(): Promise<void>;
}

/** What every drill run has; each drill's run object extends it, and each phase reads and fills it. */
export interface DrillRun<Options extends DrillOptions = DrillOptions> {
  readonly options: Options;
  /** How messages name the run: `failover drill kill-primary`, `restore drill`. */
  readonly name: string;
  readonly recorder: PhaseRecorder;
  readonly startedAt: Date;
  /** Milliseconds since the drill started. */
  readonly now: () => number;
  /** On the drill's own rows and events, so they can be found and removed. */
  readonly tag: string;
  readonly samples: Sample[];
  readonly markers: Marker[];
  /** What the fault changed, undone newest first (`undoAll`), on success, failure, Ctrl-C and SIGTERM. */
  readonly undo: Undo[];
  /** What the drill put back (or could not), in order. */
  readonly restored: string[];
  readonly notes: string[];
}

export interface DrillIdentity {
  /** `failover drill kill-primary`, `restore drill`. */
  readonly name: string;
  /** The first word of the tag: `<tag>-<start time>[-<scenario>]`. */
  readonly tag: string;
  readonly scenario?: string;
}

/** A new run: its clock starts now. */
export function startDrillRun<Options extends DrillOptions>(options: Options, identity: DrillIdentity): DrillRun<Options> {
  const startedAt = new Date();
  const origin = performance.now();
  return {
    options,
    name: identity.name,
    recorder: createPhaseRecorder(options.progress),
    startedAt,
    now: () => performance.now() - origin,
    tag: `${identity.tag}-${startedAt.toISOString()}${identity.scenario !== undefined ? `-${identity.scenario}` : ''}`,
    samples: [],
    markers: [],
    undo: [],
    restored: [],
    notes: [],
  };
}

/** Between phases: stop the drill (InterruptedError, exit 130) once Ctrl-C or SIGTERM came. */
export function checkAborted(run: Pick<DrillRun, 'name' | 'options'>, phase: string, undone = 'put back'): void {
  if (run.options.signal?.aborted) throw new InterruptedError(`${run.name}: interrupted (SIGINT/SIGTERM) during "${phase}"; see "restored" in the report for what was ${undone}`);
}

export interface UndoAllOptions {
  /** Say nothing of the steps that worked (a flapping fault's off-phase). @default false */
  readonly quiet?: boolean;
  /** What the report says of a step that failed; undefined: nothing (a step that had nothing to undo). */
  readonly failed?: (what: string, error: Error) => string | undefined;
}

/** Run the undo stack, newest first; a step that fails is said, and the rest still run. */
export async function undoAll(run: Pick<DrillRun, 'undo' | 'restored'>, options: UndoAllOptions = {}): Promise<void> {
  const failed = options.failed ?? ((what, error) => `FAILED to put back: ${what}: ${error.message}`);
  while (run.undo.length) {
    const step = run.undo.pop()!;
    try {
      await step.run();
      if (!options.quiet) run.restored.push(step.what);
    } catch (error) {
      const said = failed(step.what, error as Error);
      if (said !== undefined) run.restored.push(said);
    }
  }
}

/**
 * An engine's answer a drill step needs to have succeeded: its stdout (trimmed), else a DrillError
 * naming the step, the exit code and the engine's last error line.
 */
export async function stepSucceeded(answer: Promise<RunResult>, what: string): Promise<string> {
  const result = await answer;
  if (result.code !== 0) throw new DrillError(`${what} failed (exit ${result.code}): ${result.stderr.trim().split('\n').at(-1)}`);
  return result.stdout.trim();
}
