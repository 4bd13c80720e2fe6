/**
 * The one way runners start commands: zx underneath, failures turned into `CommandError`
 * (what ran, exit code, elapsed time, last output lines).
 */
import { $, type ProcessOutput } from 'zx';
import { CommandError } from '../../../services/errors.js';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Text for standard input. */
  input?: string;
  /** Called with each line of stdout and stderr as it arrives. */
  onLine?: (line: string) => void;
  /** Kill after this long. */
  timeoutMs?: number;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/** Run a command; never throws for a non-zero exit (see `run`). */
export async function tryRun(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const shell = $({
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    input: options.input,
    nothrow: true,
    quiet: true,
    timeout: options.timeoutMs,
  });
  const child = shell`${argv}`;
  let pending = '';
  const onLine = options.onLine;
  if (onLine) {
    const feed = (chunk: Buffer | string): void => {
      pending += chunk.toString();
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    };
    child.stdout.on('data', feed);
    child.stderr.on('data', feed);
  }
  const output: ProcessOutput = await child;
  if (onLine && pending) onLine(pending);
  return { code: output.exitCode, stdout: output.stdout, stderr: output.stderr, elapsedMs: Date.now() - started };
}

/** Run a command; throws `CommandError` on a non-zero exit. Returns trimmed stdout. */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await tryRun(argv, options);
  if (result.code !== 0) {
    throw new CommandError(argv.join(' '), result.code, `${result.stdout}\n${result.stderr}`, result.elapsedMs);
  }
  return result.stdout.trim();
}

/** True when `name` is an executable on PATH. */
export async function hasCommand(name: string): Promise<boolean> {
  const result = await tryRun(['sh', '-c', 'command -v "$1"', 'sh', name]);
  return result.code === 0;
}
