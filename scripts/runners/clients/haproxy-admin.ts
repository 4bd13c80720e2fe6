/**
 * HAProxy's runtime API over its unix socket (`stats socket … level admin`): the cluster front's,
 * to drain a node before Swarm moves its tasks, and to read which nodes its checks see up.
 */
import { connect } from 'node:net';

/** Send one or more commands (`;`-separated) and return what HAProxy answered. */
export function haproxyCommand(socket: string, command: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = connect(socket);
    let answer = '';
    const timer = setTimeout(() => client.destroy(new Error(`HAProxy runtime API ${socket}: no answer to "${command}" within ${timeoutMs} ms`)), timeoutMs);
    client.on('connect', () => client.end(`${command}\n`));
    client.on('data', (chunk) => (answer += chunk.toString()));
    client.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    client.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
  });
}

/** Each server's operational state by `backend/server` (`show servers state`: 2 = up, 0 = down). */
export async function serverStates(socket: string): Promise<Map<string, { readonly up: boolean; readonly admin: 'ready' | 'drain' | 'maint' }>> {
  const answer = await haproxyCommand(socket, 'show servers state');
  const states = new Map<string, { up: boolean; admin: 'ready' | 'drain' | 'maint' }>();
  for (const line of answer.split('\n')) {
    // be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state …
    const fields = line.trim().split(/\s+/);
    if (fields.length < 7 || !/^\d+$/.test(fields[0]!)) continue;
    const adminState = Number(fields[6]);
    states.set(`${fields[1]}/${fields[3]}`, { up: fields[5] === '2', admin: adminState & 0x27 ? 'maint' : adminState & 0x18 ? 'drain' : 'ready' });
  }
  return states;
}

/** Every backend's server `server` put in `state` (ready, drain, maint). */
export async function setServerState(socket: string, backends: readonly string[], server: string, state: 'ready' | 'drain' | 'maint'): Promise<void> {
  const answer = await haproxyCommand(socket, backends.map((backend) => `set server ${backend}/${server} state ${state}`).join(';'));
  if (answer.trim()) throw new Error(`HAProxy refused "set server … ${server} state ${state}": ${answer.trim()}`);
}
