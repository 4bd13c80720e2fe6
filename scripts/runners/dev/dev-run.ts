/**
 * `make dev-run SERVICE=events -- npm run dev`: a command on this host with the environment the
 * service's container has (make dev-env's, not written to a file), its output passed through, its
 * exit status returned; Ctrl-C and SIGTERM reach it, and Parity waits for it to exit.
 */
import { spawn } from 'node:child_process';
import { UsageError } from '../../../services/errors.js';
import type { AppService, ParityConfig } from '../../../services/config/schema.js';
import { type ComposeTarget } from '../clients/engine.js';
import { devEnvironment, parseDevEnvRequest } from './dev-env.js';

/** The service and the command, or a UsageError (exit 2) saying what is missing. */
export function parseDevRunRequest(service: string | undefined, command: readonly string[]): { readonly service: AppService; readonly command: readonly string[] } {
  const parsed = parseDevEnvRequest(service, undefined);
  if (command.length === 0 || !command[0]) {
    throw new UsageError(`dev-run needs a command to run with ${parsed.service}'s environment: make dev-run SERVICE=${parsed.service} -- npm run dev (or CMD='npm run dev')`);
  }
  return { service: parsed.service, command };
}

/** Run `command` with the service's environment over this process's; resolves with its exit code (128 + n for a signal). */
export async function devRun(target: ComposeTarget, config: ParityConfig, service: AppService, command: readonly string[], say: (line: string) => void): Promise<number> {
  const { env, notes } = await devEnvironment(target, config, service);
  say(`dev-run: ${command.join(' ')} with ${service}'s environment (${Object.keys(env).length} variables; PORT=${env.PORT})`);
  for (const note of notes) say(`  note: ${note}`);
  const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env: { ...process.env, ...env } });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'ENOENT' ? new UsageError(`dev-run: ${command[0]}: command not found (on PATH=${process.env.PATH ?? ''})`) : error),
      );
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 9)));
    });
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
