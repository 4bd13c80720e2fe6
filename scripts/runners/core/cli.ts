/**
 * Shared plumbing for the zx entry points: strict argument parsing with `--help`, and a
 * top-level handler that prints named errors plainly and sets the exit code they carry.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ParityError, UsageError } from '../../../services/errors.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Parse argv strictly; `--help` prints `help` and ends the process with 0. */
export function parseCli<T extends Options>(argv: string[], options: T, help: string) {
  try {
    const parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    if ((parsed.values as Record<string, unknown>).help) {
      process.stdout.write(`${help.trim()}\n`);
      process.exit(0);
    }
    return parsed;
  } catch (error) {
    if (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(`${error.message}\n\n${help.trim()}`);
    }
    throw error;
  }
}

/** Run an entry point: named errors become a one-paragraph message and their exit code. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (error instanceof ParityError) {
      process.stderr.write(`\n✖ ${error.name}: ${error.message}\n`);
      process.exitCode = error.exitCode;
    } else {
      process.stderr.write(`\n✖ unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    }
  }
}

/**
 * Ctrl-C and SIGTERM abort the returned signal once (the runner puts back what it changed and
 * says `what`); another one at least a second later quits at once with 130. One Ctrl-C often
 * arrives twice within milliseconds (the terminal signals the whole process group, and tsx relays
 * it to the script's process too): repeats that close together are the same keypress.
 */
export function abortOnSignals(progress: { info(message: string): void }, what: string, repeatWindowMs = 1000): AbortSignal {
  const aborter = new AbortController();
  let firstAt = 0;
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    process.on(name, () => {
      if (aborter.signal.aborted) {
        if (Date.now() - firstAt >= repeatWindowMs) process.exit(130);
        return;
      }
      firstAt = Date.now();
      progress.info(`${name}: ${what} (send again to quit at once, leaving things as they are)`);
      aborter.abort();
    });
  }
  return aborter.signal;
}
