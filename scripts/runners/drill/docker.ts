/** The few docker operations the drills need, on a compose project's containers (found with `containerOf` of clients/compose). */
import { psql } from '../clients/postgres.js';
import { tryRun } from '../core/exec.js';

/** `docker <args>`; the result, never an exception (callers decide). */
export const docker = (args: readonly string[]) => tryRun(['docker', ...args]);

/**
 * Does the node's Postgres accept writes? Asked on its own unix socket, so it works while the node
 * is cut off the network. Only a server that answers and is not in recovery does: one that refuses
 * connections (shutting down while it demotes itself) accepts no writes either.
 */
export async function localWritable(container: string): Promise<boolean> {
  const result = await psql({ container }, 'SELECT NOT pg_is_in_recovery()');
  return result.code === 0 && result.stdout.trim() === 't';
}
