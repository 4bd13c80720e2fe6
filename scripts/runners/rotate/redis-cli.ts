/**
 * Redis commands as the rotation user (services/topology/redis.ts), through `docker exec` into a
 * Redis container. redis-cli reads the password from the first line of its standard input
 * (`--askpass`) and the commands from the rest, so no password is on a command line (`ps`, the
 * exec's own record in the engine) or in an environment: `docker exec -e REDISCLI_AUTH=…` would put
 * it in the exec's process environment (`/proc/<pid>/environ`, readable by the container's user).
 * With `--json` redis-cli prints one reply per line; an error is `error:"…"`. Its exit code is 0
 * even when a command fails, so every reply is looked at.
 */
import { formatDuration, RotationError } from '../../../services/errors.js';
import { REDIS_ROTATION_USER } from '../../../services/topology/redis.js';
import { tryRun } from '../core/exec.js';

export interface RedisReply {
  readonly value?: unknown;
  readonly error?: string;
}

/** Names, hashes with their `#`/`!`, generated passwords (base64url): nothing redis-cli would split or unquote. */
const PLAIN_ARGUMENT = /^[A-Za-z0-9_|#!~*@:+.-]+$/;

/** redis-cli's standard input: the password, then one command a line. */
export function redisCliInput(password: string, commands: readonly (readonly string[])[]): string {
  for (const argument of [password, ...commands.flat()]) {
    if (!PLAIN_ARGUMENT.test(argument)) throw new RangeError('a redis-cli argument may hold only letters, digits and _|#!~*@:+.- (no spaces or quotes)');
  }
  return `${password}\n${commands.map((command) => command.join(' ')).join('\n')}\n`;
}

/** `--json` output, a reply a line. */
export function parseRedisCliJson(stdout: string): RedisReply[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => (line.startsWith('error:') ? { error: String(JSON.parse(line.slice('error:'.length))) } : { value: JSON.parse(line) as unknown }));
}

/** A map reply as an object, whether it came as a RESP3 map (an object) or a RESP2 flat array of keys and values. */
export function asRecord(value: unknown): Record<string, unknown> {
  if (Array.isArray(value)) {
    const record: Record<string, unknown> = {};
    for (let i = 0; i + 1 < value.length; i += 2) record[String(value[i])] = value[i + 1];
    return record;
  }
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

async function execRedisCli(container: string, input: string, json: boolean) {
  const argv = ['docker', 'exec', '-i', container, 'redis-cli', '--user', REDIS_ROTATION_USER, '--askpass', ...(json ? ['--json'] : [])];
  const result = await tryRun(argv, { input, timeoutMs: 15_000 });
  if (/AUTH failed/.test(result.stderr)) {
    throw new RotationError(
      `Redis in container ${container.slice(0, 12)} refused the rotation user (${result.stderr.trim().slice(0, 200)}): it was started before its ACL file had that user; ` +
        `restart it once (docker restart ${container.slice(0, 12)}) so it loads the file make up wrote, then rotate again`,
    );
  }
  return result;
}

/** Run `commands` in `container` as the rotation user; a reply per command (errors included, never thrown). */
export async function redisAsRotationUser(container: string, password: string, commands: readonly (readonly string[])[]): Promise<RedisReply[]> {
  const result = await execRedisCli(container, redisCliInput(password, commands), true);
  const replies = result.code === 0 ? parseRedisCliJson(result.stdout) : [];
  if (result.code !== 0 || replies.length !== commands.length) {
    throw new RotationError(`redis-cli in container ${container.slice(0, 12)}: expected ${commands.length} replies, got ${replies.length} (exit ${result.code}, after ${formatDuration(result.elapsedMs)}): ${result.stderr.trim().slice(0, 300)}`);
  }
  return replies;
}

/**
 * The ids of the connections logged in as `user` (CLIENT LIST). Alone in its redis-cli and
 * without `--json`: the reply is a verbatim string of several lines, which `--json` prints as is.
 */
export async function redisConnectionsOf(container: string, password: string, user: string): Promise<string[]> {
  const result = await execRedisCli(container, redisCliInput(password, [['CLIENT', 'LIST']]), false);
  if (result.code !== 0 || !/^id=/.test(result.stdout)) {
    throw new RotationError(`CLIENT LIST in container ${container.slice(0, 12)}: ${(result.stdout || result.stderr).trim().slice(0, 300)}`);
  }
  return connectionsOf(result.stdout, user);
}

/** Connection ids of `user` in a CLIENT LIST reply. */
export function connectionsOf(clientList: string, user: string): string[] {
  return clientList
    .split('\n')
    .filter((line) => new RegExp(`(^| )user=${user}( |$)`).test(line))
    .map((line) => /(?:^| )id=(\d+)/.exec(line)?.[1] ?? '')
    .filter(Boolean);
}

/** Like `redisAsRotationUser`, but every reply must be OK (ACL SETUSER, AUTH); the first error is thrown with `what`. */
export async function redisExpectOk(container: string, password: string, commands: readonly (readonly string[])[], what: string): Promise<void> {
  const replies = await redisAsRotationUser(container, password, commands);
  const failed = replies.findIndex((reply) => reply.value !== 'OK');
  if (failed >= 0) {
    throw new RotationError(`${what} in container ${container.slice(0, 12)}: ${commands[failed]![0]} ${commands[failed]![1] ?? ''} answered ${replies[failed]!.error ?? JSON.stringify(replies[failed]!.value)}`);
  }
}
