// Auth stub: issues and validates HS256 JWTs signed with the generated key (JWT_KEY_FILE).
// Traefik's forwardAuth calls GET /verify?role=admin on admin routes. The full service
// (register/login, refresh tokens, sessions in Redis) comes with issue #4.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { json, readBody, reachable, renderMetrics, secret, serve } from '../lib/common.mjs';

const key = secret('JWT_KEY');
if (!key) {
  console.error('auth: JWT_KEY or JWT_KEY_FILE must be set');
  process.exit(1);
}
const ttl = Number(process.env.TOKEN_TTL_SECONDS ?? 900);
const ROLES = ['member', 'editor', 'admin'];
const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const sign = (data) => createHmac('sha256', key).update(data).digest('base64url');

function issue(user, role) {
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: user, role, iat: now, exp: now + ttl })}`;
  return `${body}.${sign(body)}`;
}

function verify(token) {
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || !signature) return undefined;
  const expected = Buffer.from(sign(`${header}.${payload}`));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  return claims.exp > Date.now() / 1000 ? claims : undefined;
}

serve(async (req, res, url) => {
  if (url.pathname === '/health') {
    const redis = new URL(process.env.REDIS_URL ?? 'redis://redis:6379');
    const check = await reachable(redis.hostname, redis.port || 6379);
    return json(res, check.ok ? 200 : 503, { status: check.ok ? 'ok' : 'degraded', service: 'auth', checks: { redis: check } });
  }
  if (url.pathname === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    return res.end(renderMetrics());
  }
  if (url.pathname === '/auth/token' && req.method === 'POST') {
    let body;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return json(res, 400, { error: 'body must be JSON: {"user": "...", "role": "member|editor|admin"}' });
    }
    if (typeof body.user !== 'string' || !body.user) return json(res, 400, { error: 'user: expected a non-empty string', field: 'user' });
    if (!ROLES.includes(body.role)) return json(res, 400, { error: `role: expected one of ${ROLES.join(', ')}`, field: 'role' });
    return json(res, 200, { token: issue(body.user, body.role), expiresIn: ttl });
  }
  if (url.pathname === '/verify') {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const claims = token ? verify(token) : undefined;
    if (!claims) return json(res, 401, { error: 'missing, invalid or expired token' });
    const needed = url.searchParams.get('role');
    if (needed && ROLES.indexOf(claims.role) < ROLES.indexOf(needed)) return json(res, 403, { error: `role ${needed} required` });
    res.writeHead(200, { 'x-auth-user': claims.sub, 'x-auth-role': claims.role });
    return res.end();
  }
  return json(res, 404, { error: 'not found' });
});
