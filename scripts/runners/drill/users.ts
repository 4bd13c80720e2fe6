/**
 * A drill's users as the platform meets them: through the front (the users' https port, where the
 * rate limit and the PROXY protocol apply), from many loopback client addresses, each with its own
 * kept-alive connections like a browser's. Not the operators' entrypoint: what users see during an
 * incident includes the front, the edge's limits and breakers.
 */
import { join } from 'node:path';
import type { ParityConfig } from '../../../services/config/schema.js';
import { DrillInputError } from '../../../services/errors.js';
import { ADMIN_EMAIL } from '../../../services/topology/apps.js';
import { hostFor } from '../../../services/topology/common.js';
import { adminLogin } from '../clients/platform.js';
import { createClient, userAddresses, type HttpClient } from '../core/http.js';

/** Client addresses a drill's users come from (each with its own rate-limit bucket at the edge). @default 250 */
export const DRILL_USER_ADDRESSES = 250;

/** The users' base URL: the front's https port on the bind address. */
export const usersBase = (config: ParityConfig, port = config.ports.https): string => `https://${hostFor(config)}:${port}`;

export interface DrillUsers {
  readonly http: HttpClient;
  readonly base: string;
  /** An admin's token for the writes (undefined: the login was refused, with `why`). */
  readonly token?: string;
  readonly why?: string;
}

/**
 * The users' client and an admin's token, after checking the front answers at all: a drill whose
 * users can't reach the platform measures nothing (exit 2, nothing changed).
 */
export async function openDrillUsers(stateDir: string, config: ParityConfig, options: { readonly port?: number; readonly addresses?: number } = {}): Promise<DrillUsers> {
  const base = usersBase(config, options.port);
  const http = createClient(join(stateDir, 'ca', 'parity-ca.pem'), { keepAlive: true, sources: userAddresses(options.addresses ?? DRILL_USER_ADDRESSES) });
  const reached = await http(`${base}/static/style.css`, { timeoutMs: 5000 }).then((answer) => answer.status, (error: Error) => error.message);
  if (typeof reached === 'string') {
    throw new DrillInputError(`the users' entrypoint ${base} (the front) does not answer (${reached}); a drill measures what users see through it: start the stack with make up (the front included)`);
  }
  const login = await adminLogin(http, base, stateDir);
  if (!login.token) return { http, base, why: `logging in as ${ADMIN_EMAIL} answered HTTP ${login.answer.status}` };
  return { http, base, token: login.token };
}
