/**
 * The Parity CLIs as make runs them, for tests: one node process with tsx's loader, from the
 * repository root. One way to start them, so every suite sees the same exit codes and signals.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';

const repoRoot = join(import.meta.dirname, '..');

/** How make runs `scripts/<script>`: node with tsx's loader, as argv. */
const cliArgv = (script: string, args: readonly string[]): string[] => [process.execPath, '--import', 'tsx', join(repoRoot, 'scripts', script), ...args];

/** A Parity CLI child as make runs it, its output gathered (stdout and stderr in arrival order). */
export interface CliChild {
  readonly child: ChildProcess;
  /** Everything printed so far. */
  output(): string;
  /** The exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Resolves once the output contains `text`; rejects after `timeoutMs` with the output so far. */
  waitFor(text: string, timeoutMs: number): Promise<void>;
}

/**
 * Start `scripts/<script>` as make runs it: one node process with tsx's loader (the tsx binary
 * runs a second node and would SIGKILL a child that confirms a signal late). `detached` gives it
 * its own process group, for a kill of the whole group.
 */
export function spawnCli(script: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, options: { readonly detached?: boolean } = {}): CliChild {
  const [node, ...argv] = cliArgv(script, args);
  const child = spawn(node!, argv, {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.detached ? { detached: true } : {}),
  });
  let output = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const gather = (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of waiters.filter((w) => output.includes(w.text))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  child.stdout!.on('data', gather);
  child.stderr!.on('data', gather);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    waitFor: (text, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        if (output.includes(text)) return resolve();
        const timer = setTimeout(() => reject(new Error(`${script} ${args.join(' ')} never printed "${text}" within ${timeoutMs / 1000} s:\n${output}`)), timeoutMs);
        waiters.push({ text, resolve: () => (clearTimeout(timer), resolve()) });
      }),
  };
}

/** Run `scripts/<script>` to the end (as `spawnCli`): its exit code and output. */
export async function runCli(script: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ readonly code: number | null; readonly output: string }> {
  const cli = spawnCli(script, args, env);
  const code = await cli.exited;
  return { code, output: cli.output() };
}

/** Run `scripts/<script>` to the end, synchronously: exit status, stdout and stderr apart. */
export function runCliSync(script: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  const [node, ...argv] = cliArgv(script, args);
  return spawnSync(node!, argv, { cwd: repoRoot, encoding: 'utf8', env });
}

/** The same command as one shell line (for `script -qec`, which gives it a pseudo-terminal as a person's shell would). */
export function cliCommandLine(script: string, args: readonly string[] = []): string {
  const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
  return cliArgv(script, args).map(quote).join(' ');
}
