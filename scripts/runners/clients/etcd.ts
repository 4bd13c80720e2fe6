/**
 * Patroni's consensus store, asked through each member's own `etcdctl` (etcd publishes no port):
 * which member leads the Raft group now. The failover drill loses that one, the worst case: the
 * others must elect a new leader before any write (Patroni's lease refresh among them) succeeds.
 */
import { ETCD_CLIENT_PORT, ETCD_MEMBERS } from '../../../services/topology/patroni.js';
import { execIn } from './compose.js';
import { engineOf } from './engine-of.js';
import { type ComposeTarget } from './engine.js';

/**
 * `{ memberId, leaderId }` from one member's `etcdctl endpoint status -w json`, or undefined when it
 * doesn't answer as etcd does. The ids are 64-bit and printed as JSON numbers, beyond what a JS
 * number holds exactly: they are read as text.
 */
export function parseEndpointStatus(stdout: string): { readonly memberId: string; readonly leaderId: string } | undefined {
  const memberId = /"member_id":\s*(\d+)/.exec(stdout)?.[1];
  const leaderId = /"leader":\s*(\d+)/.exec(stdout)?.[1];
  return memberId && leaderId ? { memberId, leaderId } : undefined;
}

/** The etcd member that leads now (`etcd-2`), or undefined when no member says it does. */
export async function etcdLeader(target: ComposeTarget): Promise<string | undefined> {
  for (const member of ETCD_MEMBERS) {
    const [id] = await engineOf(target).containerIds(member, { running: true });
    if (!id) continue;
    const result = await execIn(id, ['etcdctl', `--endpoints=http://127.0.0.1:${ETCD_CLIENT_PORT}`, '--command-timeout=3s', 'endpoint', 'status', '-w', 'json']);
    const status = result.code === 0 ? parseEndpointStatus(result.stdout) : undefined;
    if (status && status.memberId === status.leaderId) return member;
  }
  return undefined;
}
