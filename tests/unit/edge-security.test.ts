/**
 * The edge's security layer as rendered: forwardAuth by role on every write route of the route
 * table, rate-limit buckets for users only (the default one on every users' router on `public` but
 * the static files'), pinned colors for operators only, headers, TLS, the dashboard behind auth,
 * and the front that keeps client addresses.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../services/config/schema.js';
import { parseConfig } from '../../services/config/validate.js';
import { ROUTES, isWrite, routeRegexp, admits } from '../../services/contracts/index.js';
import { CONTENT_SECURITY_POLICY, STATIC_ROUTER } from '../../services/topology/edge-security.js';
import { frontConfig, frontNetwork } from '../../services/topology/front.js';
import { clusterNetwork } from '../../services/topology/cluster.js';
import { PROJECT } from '../../services/topology/common.js';
import { traefikDynamicConfig, traefikEdgeConfig, traefikStaticConfig } from '../../services/topology/traefik.js';

type Router = { rule: string; entryPoints: string[]; middlewares?: string[]; service: string; priority?: number; tls?: object };
const root = join(import.meta.dirname, '..', '..');
const config = parseConfig('');
const routers = (traefikEdgeConfig(config) as { http: { routers: Record<string, Router> } }).http.routers;
const routesFile = (traefikDynamicConfig({ blue: 100, green: 0 }) as { http: { routers: Record<string, Router> } }).http.routers;
/** Traefik's routers from both files of its watched directory (file provider: one namespace). */
const allRouters = (edge: Record<string, Router> = routers) => ({ ...routesFile, ...edge });
const routerFor = (method: string, path: string, audience: 'users' | 'operators') =>
  Object.values(routers).find((router) => router.rule.includes(`Method(\`${method}\`)`) && router.rule.includes(routeRegexp(path)) && router.entryPoints.includes(audience === 'users' ? 'public' : 'websecure'));

describe('the route table at the edge', () => {
  it.each(ROUTES.filter((route) => isWrite(route.method)).map((route) => [`${route.method} ${route.path}`, route] as const))('%s: forwardAuth for its role on both audiences', (_name, route) => {
    for (const audience of ['users', 'operators'] as const) {
      const router = routerFor(route.method, route.path, audience);
      expect(router, `${audience} router`).toBeDefined();
      const auth = router!.middlewares!.filter((m) => m.startsWith('auth-'));
      expect(auth).toEqual(route.access === 'anonymous' ? [] : [`auth-${route.access}`]);
      expect(router!.service).toBe(route.service);
    }
  });

  it('writes to paths the table does not list need a signed-in user', () => {
    expect(routers['writes-events']).toMatchObject({ middlewares: expect.arrayContaining(['auth-member']), priority: 500 });
    expect(routers['writes-events']!.rule).toContain('Method(`DELETE`)');
  });

  it('route regexps match one segment per parameter, anchored', () => {
    const re = new RegExp(routeRegexp('/api/articles/:id/attachments/:name'));
    expect(re.test('/api/articles/42/attachments/a.png')).toBe(true);
    expect(re.test('/api/articles/42/attachments/a/b')).toBe(false);
    expect(re.test('/x/api/articles/42/attachments/a')).toBe(false);
  });

  it('roles are ordered anonymous < member < editor < admin', () => {
    expect(admits('editor', 'admin')).toBe(true);
    expect(admits('editor', 'member')).toBe(false);
    expect(admits('anonymous', 'anonymous')).toBe(true);
  });

  it('per-route rate buckets apply to users only (trusted sources too); body limits follow the longest prefix', () => {
    expect(routerFor('POST', '/auth/login', 'users')!.middlewares).toEqual(['rate-default', 'rate-auth-login', 'body-default']);
    expect(routers['trusted-route-users-post-auth-login']).toMatchObject({ entryPoints: ['trusted'], middlewares: ['rate-auth-login', 'body-default'] });
    expect(routerFor('POST', '/auth/login', 'operators')!.middlewares).toEqual(['body-default']);
    expect(routerFor('PUT', '/api/articles/:id/attachments/:name', 'users')!.middlewares).toEqual(['rate-default', 'auth-editor', 'body-api-articles', 'newsroom-edge']);
  });

  it('health, metrics and diagnostics are refused to users, not to operators', () => {
    // No bucket in front of the refusal: a user's third 403 in a row must not turn into a 429.
    expect(routers['public-operator-paths']).toMatchObject({ entryPoints: ['public'], middlewares: ['deny-all'] });
    expect(routers['trusted-operator-paths']).toMatchObject({ entryPoints: ['trusted'], middlewares: ['deny-all'] });
  });
});

describe('the default bucket: on the users\' routers of `public`, static files aside', () => {
  const onEntrypoint = (entrypoint: string, all = allRouters()) => Object.entries(all).filter(([, router]) => router.entryPoints.includes(entrypoint));

  it('the static files\' router has no default bucket; every other users\' router on `public` has it first', () => {
    const onPublic = onEntrypoint('public');
    expect(onPublic.length).toBeGreaterThan(ROUTES.length);
    for (const [name, router] of onPublic) {
      // `public`'s routers are its alone: a router shared with `trusted` would carry the bucket there too.
      expect(router.entryPoints, name).toEqual(['public']);
      expect(name, name).toMatch(/^public-/);
      if (name === STATIC_ROUTER || name === 'public-operator-paths') expect(router.middlewares ?? [], name).not.toContain('rate-default');
      else expect(router.middlewares?.[0], name).toBe('rate-default');
    }
    expect(routers[STATIC_ROUTER]).toEqual({
      rule: '(Method(`GET`) || Method(`HEAD`)) && PathPrefix(`/static/`)',
      service: 'frontend',
      entryPoints: ['public'],
      middlewares: ['body-default'],
      tls: {},
      priority: 400,
    });
  });

  it('`trusted` and the operators\' `websecure` have none, in the routes file or the edge file', () => {
    for (const entrypoint of ['trusted', 'websecure']) {
      const found = onEntrypoint(entrypoint);
      expect(found.length, entrypoint).toBeGreaterThan(ROUTES.length);
      for (const [name, router] of found) expect(router.middlewares ?? [], `${entrypoint}: ${name}`).not.toContain('rate-default');
    }
    for (const router of Object.values(routesFile)) expect(router.entryPoints).not.toContain('public');
  });

  it('each of the routes file\'s routers users reach has a copy on `public`: the same but for the bucket', () => {
    for (const [name, router] of Object.entries(routesFile).filter(([, r]) => r.entryPoints.includes('trusted'))) {
      const { entryPoints, middlewares = [], ...rest } = router;
      expect(entryPoints, name).toEqual(['websecure', 'trusted']);
      expect(routers[`public-${name}`], name).toEqual({ ...rest, entryPoints: ['public'], middlewares: ['rate-default', ...middlewares] });
    }
  });

  it('static files win over the frontend\'s catch-all prefix router only (the route table\'s, writes and operator paths rank above)', () => {
    const staticPriority = routers[STATIC_ROUTER]!.priority!;
    // Traefik's default priority is the rule's length.
    expect(staticPriority).toBeGreaterThan(routers['public-frontend']!.rule.length);
    for (const [name, router] of onEntrypoint('public')) if (name !== STATIC_ROUTER && router.priority !== undefined) expect(router.priority, name).toBeGreaterThan(staticPriority);
  });

  it('Traefik\'s names for the routers are unique, and every router on `public` keeps the name its copy there had (`public-<name>`)', () => {
    // pkg/server/aggregator.go applyModel: a router on several entrypoints with a model becomes `<entrypoint>-<name>` on each.
    const runtime = Object.entries(allRouters()).flatMap(([name, router]) => router.entryPoints.map((entrypoint) => (router.entryPoints.length > 1 ? `${entrypoint}-${name}` : name)));
    expect(new Set(runtime).size).toBe(runtime.length);
    expect(runtime.filter((name) => name.startsWith('public-')).length).toBe(onEntrypoint('public').length);
  });

  it('45 users\' routers on `public` carry it: the figure schema.ts, parity.yaml and docs/security.md give for what one address can spread over', () => {
    const bucketed = onEntrypoint('public').filter(([, router]) => router.middlewares?.includes('rate-default'));
    expect(bucketed).toHaveLength(45);
    for (const file of [join('docs', 'security.md'), 'parity.yaml', join('services', 'config', 'schema.ts')]) expect(readFileSync(join(root, file), 'utf8'), file).toMatch(/45 routers|45 with the route table|45 × /);
  });

  it('parity.yaml documents the edge section: uncommented, it is the defaults', () => {
    const lines = readFileSync(join(root, 'parity.yaml'), 'utf8').split('\n');
    const start = lines.indexOf(lines.find((line) => line.startsWith('# edge:'))!);
    const section = lines.slice(start, lines.indexOf('', start)).map((line) => line.replace(/^# ?/, '')).join('\n');
    expect(parseConfig(section).edge).toEqual(DEFAULT_CONFIG.edge);
  });

  it('with the rate limit off, no router has a bucket', () => {
    const off = (traefikEdgeConfig(parseConfig('edge:\n  rateLimit:\n    enabled: false\n')) as { http: { routers: Record<string, Router> } }).http.routers;
    for (const [name, router] of Object.entries(allRouters(off))) expect((router.middlewares ?? []).filter((m) => m.startsWith('rate-')), name).toEqual([]);
  });
});

describe('middlewares, TLS and entrypoints', () => {
  const edge = traefikEdgeConfig(config) as { http: { middlewares: Record<string, Record<string, Record<string, unknown>>> }; tls: { options: { default: Record<string, unknown> } } };
  const middlewares = edge.http.middlewares;

  it('users: color header stripped, security headers (the default bucket is on their routers); trusted sources the same', () => {
    expect(middlewares.users).toEqual({ chain: { middlewares: ['strip-color', 'security-headers'] } });
    expect(middlewares['trusted-users']).toEqual({ chain: { middlewares: ['strip-color', 'security-headers'] } });
    expect(middlewares['rate-default']).toEqual({ rateLimit: { average: 100, burst: 2, period: '60s' } });
    expect(middlewares['strip-color']).toEqual({ headers: { customRequestHeaders: { 'X-Parity-Color': '' } } });
  });

  it('security headers: HSTS, a CSP without unsafe-inline, no framing, referrer and permissions policies, nosniff', () => {
    expect(middlewares['security-headers']!.headers).toMatchObject({ stsSeconds: 31_536_000, frameDeny: true, contentTypeNosniff: true, referrerPolicy: 'strict-origin-when-cross-origin' });
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
  });

  it('TLS 1.2 or newer with AEAD suites only', () => {
    expect(edge.tls.options.default.minVersion).toBe('VersionTLS12');
    expect((edge.tls.options.default.cipherSuites as string[]).every((suite) => /GCM|CHACHA20/.test(suite))).toBe(true);
  });

  it('turning the rate limit off removes every bucket', () => {
    const off = traefikEdgeConfig(parseConfig('edge:\n  rateLimit:\n    enabled: false\n')) as typeof edge;
    expect(Object.keys(off.http.middlewares).filter((name) => name.startsWith('rate-'))).toEqual([]);
    expect(off.http.middlewares.users).toEqual({ chain: { middlewares: ['strip-color', 'security-headers'] } });
  });

  it("the dashboard is not insecure, and the PROXY header is believed only from the front network's gateway and the cluster bridge's host end (the front in front of make cluster-up's nodes)", () => {
    const stat = traefikStaticConfig(config) as { api: Record<string, unknown>; entryPoints: Record<string, { proxyProtocol?: { trustedIPs: string[] } }> };
    expect(stat.api).toEqual({ dashboard: true });
    expect(stat.entryPoints.public!.proxyProtocol).toEqual({ trustedIPs: [`${frontNetwork(config).gateway}/32`, `${clusterNetwork(config, PROJECT).gateway}/32`] });
    expect(stat.entryPoints.websecure!.proxyProtocol).toBeUndefined();
  });

  it('a color can be pinned on the operators\' entrypoint only', () => {
    const dynamic = traefikDynamicConfig({ blue: 100, green: 0 }) as { http: { routers: Record<string, Router> } };
    const pinned = Object.values(dynamic.http.routers).filter((router) => router.rule.includes('X-Parity-Color'));
    expect(pinned.length).toBeGreaterThan(0);
    for (const router of pinned) expect(router.entryPoints).toEqual(['websecure']);
  });
});

describe('the front', () => {
  it('binds the users\' ports on bindAddress and sends PROXY v2 to Traefik\'s fixed address', () => {
    const lines = frontConfig(config);
    const network = frontNetwork(config);
    expect(lines).toContain('  bind 127.0.0.1:8443');
    expect(lines).toContain(`  server traefik ${network.traefik}:8443 send-proxy-v2`);
    expect(lines.some((line) => line.includes('trusted src'))).toBe(false);
  });

  it('sends trusted sources to the trusted entrypoint', () => {
    const lines = frontConfig(parseConfig('edge:\n  rateLimit:\n    trustedSources: [127.0.0.9, 10.1.0.0/16]\n'));
    expect(lines).toContain('  acl trusted src 127.0.0.9 10.1.0.0/16');
    expect(lines).toContain('  use_backend traefik-trusted if trusted');
  });

  it('a /29 per users\' port, stable, and apart for stacks on other ports', () => {
    const a = frontNetwork(config);
    const b = frontNetwork(parseConfig('ports:\n  https: 9443\n  http: 9080\n  dashboard: 9081\n'));
    expect(a).toEqual(frontNetwork(config));
    expect(a.subnet).toMatch(/^10\.213\.\d+\.\d+\/29$/);
    expect(b.subnet).not.toBe(a.subnet);
    expect(a.gateway.split('.').at(-1)).toBe(String(Number(a.subnet.split('.').at(-1)!.split('/')[0]) + 1));
  });

  it('a burst Traefik would hand out again after forgetting an idle address is bad input, with why', () => {
    expect(() => parseConfig('edge:\n  rateLimit:\n    burst: 20\n')).toThrow(
      "parity.yaml:3:5 edge.rateLimit.burst: expected at most 3 for 100 requests per 60 s, got 20: Traefik starts an idle address's bucket full again after 2 s, so a larger burst would pass again every few seconds",
    );
    expect(() => parseConfig('edge:\n  rateLimit:\n    routes:\n      /auth/login: { average: 10, burst: 2 }\n')).toThrow('edge.rateLimit.routes./auth/login.burst: expected at most 1 for 10 requests per 60 s, got 2');
  });

  it('a trusted source that is not an address is bad input, with its line', () => {
    expect(() => parseConfig('edge:\n  rateLimit:\n    trustedSources: [localhost]\n')).toThrow(
      'parity.yaml:3:22 edge.rateLimit.trustedSources[0]: expected an IPv4 address or CIDR (127.0.0.2, 10.0.0.0/8), got "localhost"',
    );
  });
});
