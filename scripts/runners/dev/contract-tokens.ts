/**
 * The contract's identities and tokens: on the isolated stack, real sessions from the auth stub
 * (the admin it creates, a member and an editor registered for the run), the route table called
 * past the edge as each of them, bad tokens made from the admin's real one (another key under its
 * kid, a kid nobody has, expired under the real key, identity headers alone), and a token of a
 * rotated key (`make rotate-secrets`' own step, so the candidate meets what users' rotations do).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { AppService } from '../../../services/config/schema.js';
import type { ContractEvidence } from '../../../services/contracts/platform-contract.js';
import { admits, isWrite, ROUTES, type Route, type RouteAccess } from '../../../services/contracts/routes.js';
import { ADMIN_EMAIL } from '../../../services/topology/apps.js';
import type { ComposeTarget } from '../clients/engine.js';
import type { Progress } from '../core/progress.js';
import { signingKeysStep } from '../rotate/signing-keys.js';
import { readSigningKeys } from '../stack/signing-keys.js';

/** A call to a container of the isolated stack: status and body. */
export type ContractCall = (container: string, path: string, init?: RequestInit) => Promise<{ readonly status: number; readonly body: string }>;

const SIGNED_IN: readonly RouteAccess[] = ['member', 'editor', 'admin'];
/** A route's path with its parameters filled: an id nobody has (the answer may be 404, never a write). */
const concrete = (route: Route) => route.path.replace(/:[^/]+/g, '00000000-0000-4000-8000-000000000000');
/** The route called with these headers: a write with an empty JSON body (refused before it is read, or a 400). */
const requestFor = (route: Route, headers: Record<string, string>): RequestInit =>
  isWrite(route.method) ? { method: route.method, headers: { ...headers, 'content-type': 'application/json' }, body: '{}' } : { headers };
const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function signIn(call: ContractCall, email: string, password: string): Promise<string> {
  const answer = await call('auth', '/auth/login', json({ email, password }));
  if (answer.status !== 200) throw new Error(`auth refused the contract's login as ${email}: ${answer.status} ${answer.body.slice(0, 200)}`);
  return (JSON.parse(answer.body) as { accessToken: string }).accessToken;
}

/** A live session's token per role, from the auth stub of the isolated stack. */
export async function contractIdentities(call: ContractCall, target: ComposeTarget): Promise<Record<'member' | 'editor' | 'admin', string>> {
  const admin = await signIn(call, ADMIN_EMAIL, (await readFile(join(target.stateDir, 'secrets', 'admin_password'), 'utf8')).trim());
  const tokens = { admin } as Record<'member' | 'editor' | 'admin', string>;
  for (const role of ['member', 'editor'] as const) {
    const email = `contract-${role}@parity.localhost`;
    const password = randomBytes(18).toString('base64url');
    const registered = await call('auth', '/auth/register', json({ email, password }));
    if (registered.status !== 201 && registered.status !== 200) throw new Error(`auth refused to register ${email}: ${registered.status} ${registered.body.slice(0, 200)}`);
    if (role === 'editor') {
      const promoted = await call('auth', `/auth/users/${encodeURIComponent(email)}/role`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: JSON.stringify({ role }) });
      if (promoted.status !== 200) throw new Error(`auth refused to make ${email} an editor: ${promoted.status} ${promoted.body.slice(0, 200)}`);
    }
    tokens[role] = await signIn(call, email, password);
  }
  return tokens;
}

/** Every route of the service as no one, then as each role: the rbac clause's evidence. */
export async function routeMatrix(call: ContractCall, container: string, service: AppService, tokens: Record<'member' | 'editor' | 'admin', string>): Promise<NonNullable<ContractEvidence['rbac']>> {
  const calls: { route: string; identity: RouteAccess; admitted: boolean; status: number }[] = [];
  for (const route of ROUTES.filter((r) => r.service === service)) {
    for (const identity of ['anonymous', ...SIGNED_IN] as const) {
      const headers: Record<string, string> = identity === 'anonymous' ? {} : { authorization: `Bearer ${tokens[identity as 'member' | 'editor' | 'admin']}` };
      const answer = await call(container, concrete(route), requestFor(route, headers));
      calls.push({ route: `${route.method} ${route.path}`, identity, admitted: admits(route.access, identity), status: answer.status });
    }
  }
  return calls;
}

/** The route bad tokens are tried on: the service's first route that needs a signed-in user (a write first). */
export const guardedRoute = (service: AppService): Route | undefined => {
  const guarded = ROUTES.filter((route) => route.service === service && route.access !== 'anonymous');
  return guarded.find((route) => isWrite(route.method)) ?? guarded[0];
};

/** `claims` (an admin's real token's) signed again with `key` under `kid`, expiring at `exp` (seconds). */
const signAs = async (claims: JWTPayload, key: JWK | Parameters<SignJWT['sign']>[0], kid: string, exp: number): Promise<string> =>
  new SignJWT({ ...claims, iat: exp - 900, exp }).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' }).sign('kty' in key ? await importJWK(key, 'EdDSA') : key);

const inSeconds = (seconds: number) => Math.floor(Date.now() / 1000) + seconds;

/** The admin's real token re-made wrong: each must be refused. */
export async function badTokenAnswers(call: ContractCall, container: string, route: Route, adminToken: string, target: ComposeTarget): Promise<{ readonly case: string; readonly status: number }[]> {
  const claims = decodeJwt(adminToken);
  const { kid } = decodeProtectedHeader(adminToken);
  const keys = (await readSigningKeys(target.stateDir)).keys;
  const real = keys.find((key) => key.kid === kid) ?? keys[0]!;
  const other = (await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey;
  const cases: [string, Record<string, string>][] = [
    ['identity headers without a token', { 'x-auth-user': ADMIN_EMAIL, 'x-auth-role': 'admin' }],
    ['another key under the real kid', { authorization: `Bearer ${await signAs(claims, other, kid!, inSeconds(300))}` }],
    ['a kid nobody has', { authorization: `Bearer ${await signAs(claims, other, `unknown-${randomBytes(4).toString('hex')}`, inSeconds(300))}` }],
    ['expired, under the real key', { authorization: `Bearer ${await signAs(claims, real, real.kid!, inSeconds(-60))}` }],
  ];
  const answers: { case: string; status: number }[] = [];
  for (const [name, headers] of cases) answers.push({ case: name, status: (await call(container, concrete(route), requestFor(route, headers))).status });
  return answers;
}

/**
 * Rotate the isolated stack's signing keys with `make rotate-secrets`' own step (new key files and
 * their copies), then call the route with the admin's live session signed by the new key, as auth
 * signs once it has read its new file (up to 10 s later: not waited for, the candidate is what is judged).
 */
export async function rotatedKeyStatus(call: ContractCall, container: string, route: Route, adminToken: string, target: ComposeTarget, progress: Progress): Promise<number> {
  const { signingKid } = await signingKeysStep.run({ target, progress, timeoutMs: 20_000, graceMs: 0 });
  const key = (await readSigningKeys(target.stateDir)).keys.find((candidate) => candidate.kid === signingKid)!;
  const token = await signAs(decodeJwt(adminToken), key, signingKid, inSeconds(300));
  return (await call(container, concrete(route), requestFor(route, { authorization: `Bearer ${token}` }))).status;
}
