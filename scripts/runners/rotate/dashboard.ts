/**
 * The Traefik dashboard's password (user `admin`): a new password, the htpasswd line made from it
 * written to the host's and Traefik's copies (in place), then a changed file in Traefik's watched
 * directory makes it build its middlewares again, the basicAuth reading the new line
 * (dashboardReloadConfig says why a touch is not enough). No restart: the users' routers are
 * rebuilt the same way on every deploy. The runners read the password from its file each time
 * (deploy/traefik-api.ts), so they follow at once. Both regions' Traefiks watch the same directory.
 */
import { join } from 'node:path';
import { stringify } from 'yaml';
import { formatDuration, RotationError, StackNotUpError, TimeoutError } from '../../../services/errors.js';
import { DASHBOARD_RELOAD_FILE, DASHBOARD_USER, DASHBOARD_USERS_SECRET, dashboardReloadConfig, dashboardUsersLine } from '../../../services/topology/edge-security.js';
import { done, pending, pollUntil } from '../core/poll.js';
import { newSecretValue } from '../stack/stack-state.js';
import { engineOf } from '../clients/engine-of.js';
import { writeFileAtomic } from '../core/state.js';
import { readHostSecret, rewriteCopies, writeHostSecret } from './copies.js';
import type { RotationStep } from './steps.js';

const PASSWORD_SECRET = 'traefik_dashboard_password';
/** Traefik's dashboard entrypoint inside the container (traefik.ts). */
const DASHBOARD_PORT = 8080;

interface DashboardRotation {
  readonly port: number;
  /** Held for the check (401 with it), never written anywhere. */
  readonly previous: string;
  readonly copies: readonly string[];
}

const authorization = (password: string) => `Basic ${Buffer.from(`${DASHBOARD_USER}:${password}`).toString('base64')}`;

async function statusWith(port: number, password: string): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/api/overview`, { headers: { authorization: authorization(password) }, signal: AbortSignal.timeout(3000) })).status;
  } catch {
    return 0;
  }
}

export const dashboardStep: RotationStep<DashboardRotation> = {
  name: 'dashboard',
  rotates: 'the Traefik dashboard password (traefik_dashboard_password, traefik_dashboard_users), effective without restarting Traefik',
  async run({ target }) {
    const port = await engineOf(target).publishedPort('traefik', DASHBOARD_PORT);
    if (port === undefined) throw new StackNotUpError(`traefik has no published dashboard port in project ${target.project}: is the stack up? (make up); nothing was changed`);
    const previous = await readHostSecret(target.stateDir, PASSWORD_SECRET);
    const password = newSecretValue();
    await writeHostSecret(target.stateDir, PASSWORD_SECRET, password);
    await writeHostSecret(target.stateDir, DASHBOARD_USERS_SECRET, dashboardUsersLine(password));
    const copies = await rewriteCopies(target.stateDir, [PASSWORD_SECRET, DASHBOARD_USERS_SECRET]);
    await writeFileAtomic(join(target.stateDir, 'traefik', 'dynamic', DASHBOARD_RELOAD_FILE), stringify(dashboardReloadConfig(new Date().toISOString())));
    return { port, previous, copies };
  },
  async check({ target, timeoutMs }, state) {
    const password = await readHostSecret(target.stateDir, PASSWORD_SECRET);
    try {
      const { elapsedMs } = await pollUntil(
        async () => {
          const [fresh, old] = [await statusWith(state.port, password), await statusWith(state.port, state.previous)];
          return fresh === 200 && old === 401 ? done(true) : pending(`new password → ${fresh || 'no answer'}, old → ${old || 'no answer'}`);
        },
        { subject: 'the Traefik dashboard', expectation: '200 with the new password and 401 with the old one', timeoutMs, intervalMs: 250 },
      );
      return {
        summary: `the dashboard answers 200 with the new password and 401 with the old one (${formatDuration(elapsedMs)} after the reload file changed); Traefik not restarted`,
        details: { port: state.port, copies: state.copies, reloadFile: `traefik/dynamic/${DASHBOARD_RELOAD_FILE}` },
      };
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      throw new RotationError(`${error.message}. The new password is in .parity/secrets/${PASSWORD_SECRET} and the users file; Traefik reads that file when its dynamic configuration changes or it restarts`);
    }
  },
};
