/**
 * The platform's admin account from the host: auth creates it at start (ADMIN_EMAIL) with the
 * password in the admin_password secret. The drills' users, the region drill, failing back, the
 * stub benchmark and seeding act as it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ADMIN_EMAIL } from '../../../services/topology/apps.js';
import type { HttpClient, HttpResult } from '../core/http.js';

/** The admin's email and password on this host. */
export async function platformAdmin(stateDir: string): Promise<{ readonly email: string; readonly password: string }> {
  return { email: ADMIN_EMAIL, password: (await readFile(join(stateDir, 'secrets', 'admin_password'), 'utf8')).trim() };
}

/**
 * Log in as the admin through `base` (the front, the edge, a region's Traefik): auth's answer,
 * and the access token when it was 200. Rejects on connection errors and timeouts (HttpClient).
 */
export async function adminLogin(http: HttpClient, base: string, stateDir: string, timeoutMs?: number): Promise<{ readonly answer: HttpResult; readonly token?: string }> {
  const answer = await http(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(await platformAdmin(stateDir)),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
  return answer.status === 200 ? { answer, token: (JSON.parse(answer.body) as { accessToken: string }).accessToken } : { answer };
}
