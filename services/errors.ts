/**
 * Named errors shared by the model, the runners and the scripts.
 *
 * Every error carries the exit code a script should end with: 2 for bad input
 * (the user can fix it by changing what they typed or configured), 1 for a
 * failure of the work itself (a build, a health check, a command). The base
 * class lives in the contracts, which the stubs share.
 */
import { ParityError } from './contracts/errors.js';

export { ParityError };

/** Bad command-line input: an unknown flag, a missing value. */
export class UsageError extends ParityError {
  readonly exitCode = 2;
}

/** A name that is not in the image catalog. */
export class UnknownImageError extends ParityError {
  readonly exitCode = 2;

  constructor(
    readonly unknown: readonly string[],
    readonly known: readonly string[],
  ) {
    super(
      unknown
        .map((name) => {
          const hint = suggest(name, known);
          return `unknown image "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}`;
        })
        .join('; ') + `. Known images: ${known.join(', ')}.`,
    );
  }
}

/**
 * No container engine answers and this host can't be given one automatically
 * (not root, no apt). The message says what to install.
 */
export class EngineUnavailableError extends ParityError {
  readonly exitCode = 2;
}

/** A prerequisite tool (Go, debootstrap, npm) is missing where a build needs it. */
export class MissingToolError extends ParityError {
  readonly exitCode = 2;
}

/** A command the runners started exited non-zero. */
export class CommandError extends ParityError {
  readonly exitCode = 1;

  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly output: string,
    readonly elapsedMs: number,
  ) {
    super(
      `command failed after ${formatDuration(elapsedMs)} (exit ${code ?? 'signal'}): ${command}` +
        (output.trim() ? `\n--- last output ---\n${lastLines(output, 30)}` : ''),
    );
  }
}

/** An image build failed: names the image, the failing step and the last log lines. */
export class ImageBuildError extends ParityError {
  readonly exitCode = 1;

  constructor(
    readonly image: string,
    readonly step: string,
    readonly logTail: string,
    readonly elapsedMs: number,
  ) {
    super(
      `building ${image} failed at ${step} after ${formatDuration(elapsedMs)}\n` +
        `--- last log lines ---\n${logTail}`,
    );
  }
}

/** The image catalog contradicts itself (a base that isn't in it, a cycle): fix the catalog. */
export class CatalogError extends ParityError {
  readonly exitCode = 1;
}

/** An image the config asks for is neither present nor pullable, and Parity can't build it. */
export class ImageUnavailableError extends ParityError {
  readonly exitCode = 2;
}

/** A service answered, but not what the work needed (e.g. a login refused while seeding a benchmark). */
export class UnexpectedResponseError extends ParityError {
  readonly exitCode = 1;
  constructor(
    readonly subject: string,
    readonly expectedStatus: number,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${subject}: expected HTTP ${expectedStatus}, got ${status}${body ? `: ${body.slice(0, 300)}` : ''}`);
  }
}

/** Something did not become ready in time. */
export class TimeoutError extends ParityError {
  readonly exitCode = 1;
  constructor(
    message: string,
    /** How long was really waited (not the budget), when the waiter knows it. */
    readonly elapsedMs?: number,
  ) {
    super(message);
  }
}

/** A service of the stack (Prometheus, Traefik's API) did not answer, or answered with an error. */
export class ServiceAnswerError extends ParityError {
  readonly exitCode = 1;
}

/** A wait or a deploy step was cut short by SIGINT/SIGTERM (the shell's code for a signal). */
export class InterruptedError extends ParityError {
  readonly exitCode = 130;
}

/** A deploy request that can't be run: bad VERSION/FAULT/IMAGE, an image that doesn't exist. */
export class DeployInputError extends ParityError {
  readonly exitCode = 2;
  constructor(readonly problems: readonly string[]) {
    super(`make deploy: nothing was changed:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

/** Another deploy or rollback holds the lock. */
export class DeployLockedError extends ParityError {
  readonly exitCode = 2;
}

/** A gate failed: traffic went back to the old color; the message says which gate and its figures. */
export class DeployRolledBackError extends ParityError {
  readonly exitCode = 1;
  constructor(
    readonly gate: string,
    readonly reasons: readonly string[],
    readonly reportFile: string,
  ) {
    super(`deploy rolled back at gate "${gate}":\n${reasons.map((reason) => `  - ${reason}`).join('\n')}\nreport: ${reportFile}`);
  }
}

/** `1m05s`, `12.3s`, `850ms`: short and stable, for messages and tables. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1000);
  return `${minutes}m${String(seconds).padStart(2, '0')}s`;
}

/** The last `n` non-empty lines of a text. */
export function lastLines(text: string, n: number): string {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-n)
    .join('\n');
}

/** The closest known name within edit distance 3, for "did you mean" hints. */
export function suggest(name: string, known: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance <= 3 && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** A drill that can't run (unknown scenario, stack not up, a profile without what it needs); nothing was changed. */
export class DrillInputError extends ParityError {
  readonly exitCode = 2;
}

/** A drill broke while running (a fault could not be injected or undone, the cluster never recovered). */
export class DrillError extends ParityError {
  readonly exitCode = 1;
}

/** A drill ran to the end and exceeded a budget: the message lists each one; the report has the rest. */
export class DrillBudgetError extends ParityError {
  readonly exitCode = 1;
  constructor(
    readonly reasons: readonly string[],
    readonly reportDir: string,
  ) {
    super(`budget exceeded:\n${reasons.map((reason) => `  - ${reason}`).join('\n')}\nreport: ${reportDir}`);
  }
}

/** `make rotate-secrets`: a step could not put its new secret in place, or the check found it not live (the message says what still works). */
export class RotationError extends ParityError {
  readonly exitCode = 1;
}

/** A command that needs the running stack found it down (or not published where expected); nothing was changed. */
export class StackNotUpError extends ParityError {
  readonly exitCode = 2;
}

/**
 * The engine holds data volumes that were initialised with other credentials than the state
 * directory's (a second checkout, a deleted `.parity/`): starting would fail on passwords.
 */
export class StaleVolumesError extends ParityError {
  readonly exitCode = 2;
}

/** `make clean` ran every step but the engine or the disk still holds something of the stack: the message lists each with the command that removes it. */
export class CleanIncompleteError extends ParityError {
  readonly exitCode = 1;
}

/** A backup command that can't run: backups are off, no leader to back up, a backup set that doesn't exist. Nothing was changed. */
export class BackupInputError extends ParityError {
  readonly exitCode = 2;
}

/** pgBackRest failed (a corrupt or unreadable backup, the repository unreachable): the message carries its own error line. */
export class BackupError extends ParityError {
  readonly exitCode = 1;
}

/** `make backup` waited its whole wait timeout for the stanza's lock (another backup held it): no backup was taken; the message names the holder. */
export class BackupLockTimeoutError extends ParityError {
  readonly exitCode = 1;
  constructor(
    message: string,
    /** How long was really waited. */
    readonly waitedMs: number,
  ) {
    super(message);
  }
}

/** `make audit` input that can't be used (LIMIT, SERVICE, ACTION, SINCE, FORMAT): every problem, by its variable. */
export class AuditInputError extends ParityError {
  readonly exitCode = 2;
  constructor(readonly problems: readonly string[]) {
    super(problems.length === 1 ? `make audit: ${problems[0]}` : `make audit: bad input:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

/** The running stack has no audit table (a stack created before `make up` made it): nothing to read or write. */
export class AuditLogMissingError extends ParityError {
  readonly exitCode = 2;
}

/** psql on the writer failed for another reason (the database down, a query error): the message carries psql's own words. */
export class AuditError extends ParityError {
  readonly exitCode = 1;
}

/**
 * A developer's process on this host (`source: host`) that the stack can't route to: nothing
 * listens on its port, it listens on 127.0.0.1 only (containers come through the engine's
 * gateway), or its liveness path doesn't answer 2xx. Nothing was started.
 */
export class HostProcessError extends ParityError {
  readonly exitCode = 2;
}

/** A candidate that breaks the platform contract (`make contract`): the failing clauses, with what each breaks. */
export class ContractFailedError extends ParityError {
  readonly exitCode = 1;
}
