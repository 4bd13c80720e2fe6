/**
 * The edge's security layer, rendered into Traefik's edge file: security headers on every answer,
 * TLS 1.2+ with AEAD ciphers only, body limits, the rate limit per client address, the color-pin
 * header stripped from users, forwardAuth by role on every write route of the route table, and
 * the dashboard behind basic auth on its own entrypoint.
 *
 * Which entrypoint a request arrives on says who sent it (traefik.ts): `public` (users, through the
 * front, rate limited), `trusted` (the sources `edge.rateLimit.trustedSources` lists, not limited by
 * the default bucket), `websecure` (operators, loopback only). Routers here carry priorities above
 * the routes file's per-app routers and below its pinned-color ones (operators only).
 *
 * The default bucket is on the users' routers of `public`, not on the entrypoint, so that the
 * frontend's static files can do without it (`public-static`, as the architecture's CDN would serve
 * them): every other router on `public` carries it. Those routers are `public`'s alone, named
 * `public-<name>` (and `trusted`'s `trusted-<name>`), the names Traefik gave its per-entrypoint
 * copies of a router shared between the two, so metrics and access logs keep their router labels.
 * The routes file's routers (traefik.ts) serve `websecure` and `trusted`; their `public` copies live
 * here, because the bucket follows the config and the routes file doesn't.
 */
import { createHash } from 'node:crypto';
import type { ParityConfig } from '../config/schema.js';
import { APP_SERVICES } from '../config/profiles.js';
import { COLOR_HEADER, OPERATOR_PATHS, ROUTES, STUB_PORT, WRITE_METHODS, isWrite, routeRegexp, type Route, type RouteAccess } from '../contracts/index.js';
import { STATIC_PREFIX } from './rate-limit.js';

/** The secret with the dashboard's htpasswd line (user `admin`), made from `traefik_dashboard_password`. */
export const DASHBOARD_USERS_SECRET = 'traefik_dashboard_users';
export const DASHBOARD_USER = 'admin';

/**
 * The htpasswd line Traefik's basicAuth reads for the dashboard's user. {SHA} is unsalted, which is
 * harmless for a random 256-bit password (nothing to guess).
 */
export function dashboardUsersLine(password: string): string {
  return `${DASHBOARD_USER}:{SHA}${createHash('sha1').update(password).digest('base64')}`;
}

/** The file in Traefik's watched directory that `make rotate-secrets` rewrites to make Traefik read the dashboard's users file again. */
export const DASHBOARD_RELOAD_FILE = 'dashboard-users.yml';

/**
 * That file's dynamic configuration. Traefik's basicAuth reads its usersFile only when it builds
 * the middleware (traefik/traefik#5060, still open), and it rebuilds only on a changed dynamic
 * configuration: an unchanged one is skipped (pkg/server/configurationwatcher.go compares with
 * reflect.DeepEqual), so touching a file is not enough. This middleware, used by no router,
 * carries the rotation's time: a new value is a new configuration, and Traefik builds every router
 * and middleware again, the dashboard's basicAuth with the new users file. The value is a sentence,
 * not a bare timestamp: Traefik's YAML reader would take that for a date and refuse the whole file.
 */
export function dashboardReloadConfig(rotatedAt: string): object {
  return { http: { middlewares: { 'dashboard-users-reload': { headers: { customResponseHeaders: { 'X-Parity-Dashboard-Users': `rotated at ${rotatedAt}` } } } } } };
}

/** Where the browser reports CSP violations (the frontend counts and keeps them). */
export const CSP_REPORT_PATH = '/csp-report';

/** The policy every answer carries: no inline script or style, nothing framed, nothing from elsewhere. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  `report-uri ${CSP_REPORT_PATH}`,
].join('; ');

// Static files: above the frontend's catch-all prefix router (its priority is its rule's length).
const PRIORITY = { staticFiles: 400, catchAllWrite: 500, route: 600, operatorPaths: 3000 } as const;

/** Middleware names (the static config's entrypoints name the chains). */
export const EDGE_MIDDLEWARES = { users: 'users', trustedUsers: 'trusted-users', operators: 'operators', bodyDefault: 'body-default', rateDefault: 'rate-default' } as const;

/** The users' entrypoints: the front's users, and the sources it trusts. */
type UsersEntrypoint = 'public' | 'trusted';

/** A users' router on one of the users' entrypoints (see the file's comment). */
export const onEntrypoint = (entrypoint: UsersEntrypoint, name: string): string => `${entrypoint}-${name}`;

/** The router on `public` for the frontend's static files: the one users' router there without the default bucket. */
export const STATIC_ROUTER = onEntrypoint('public', 'static');

const slug = (prefix: string) => prefix.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'root';

/** The longest configured prefix `path` falls under, if any. */
function longestPrefix(path: string, prefixes: readonly string[]): string | undefined {
  return prefixes.filter((prefix) => path.startsWith(prefix)).sort((a, b) => b.length - a.length)[0];
}

/** A router of Traefik's dynamic configuration, as the edge file and the routes file write them. */
export interface TraefikRouter {
  readonly rule: string;
  readonly service: string;
  readonly entryPoints?: readonly string[];
  readonly middlewares?: readonly string[];
  readonly tls?: object;
  readonly priority?: number;
}

/**
 * What the edge file already knows about its services (traefik.ts): the path prefixes each answers,
 * the middleware chain in front of an API (its edge fallback and breaker), if it has one, and the
 * routes file's routers that users reach (without entrypoints: their `public` copies are made here).
 */
export interface EdgeRouting {
  readonly prefixes: Readonly<Partial<Record<Route['service'], readonly string[]>>>;
  readonly chainOf: (service: Route['service']) => string | undefined;
  readonly usersRouters: Readonly<Record<string, TraefikRouter>>;
}

const chainOf = (routing: EdgeRouting, service: Route['service']) => {
  const chain = routing.chainOf(service);
  return chain ? [chain] : [];
};

/** The default bucket, first on every users' router on `public` (but the static files'), when the rate limit is on. */
const defaultBucket = (config: ParityConfig, entrypoint: UsersEntrypoint | 'websecure'): string[] =>
  entrypoint === 'public' && config.edge.rateLimit.enabled ? [EDGE_MIDDLEWARES.rateDefault] : [];

/** The router name and middlewares of one route-table entry, for users (`public`, `trusted`) or operators (`websecure`). */
function routeRouter(config: ParityConfig, routing: EdgeRouting, route: Route, entrypoint: UsersEntrypoint | 'websecure'): [string, TraefikRouter] {
  const bodyPrefix = longestPrefix(route.path, Object.keys(config.edge.routeBodyLimits));
  const ratePrefix = entrypoint !== 'websecure' && config.edge.rateLimit.enabled ? longestPrefix(route.path, Object.keys(config.edge.rateLimit.routes)) : undefined;
  const middlewares = [
    ...defaultBucket(config, entrypoint),
    ...(ratePrefix ? [`rate-${slug(ratePrefix)}`] : []),
    ...(isWrite(route.method) && route.access !== 'anonymous' ? [`auth-${route.access}`] : []),
    bodyPrefix ? `body-${slug(bodyPrefix)}` : EDGE_MIDDLEWARES.bodyDefault,
    ...chainOf(routing, route.service),
  ];
  const name = (audience: 'users' | 'operators') => `route-${audience}-${route.method.toLowerCase()}-${slug(route.path)}`;
  return [
    entrypoint === 'websecure' ? name('operators') : onEntrypoint(entrypoint, name('users')),
    {
      rule: `Method(\`${route.method}\`) && PathRegexp(\`${routeRegexp(route.path)}\`)`,
      service: route.service,
      entryPoints: [entrypoint],
      middlewares,
      tls: {},
      priority: PRIORITY.route,
    },
  ];
}

function catchAllWriteRouters(config: ParityConfig, routing: EdgeRouting): Record<string, TraefikRouter> {
  const methods = WRITE_METHODS.map((method) => `Method(\`${method}\`)`).join(' || ');
  // The frontend answers no writes: its prefix (/) would catch every other service's.
  const writers = Object.entries(routing.prefixes).filter(([service]) => service !== 'frontend') as [Route['service'], readonly string[]][];
  return Object.fromEntries(
    writers.flatMap(([service, prefixes]) => {
      const router = (entryPoints: readonly ('websecure' | UsersEntrypoint)[], bucket: string[]): TraefikRouter => ({
        rule: `(${prefixes.map((prefix) => `PathPrefix(\`${prefix}\`)`).join(' || ')}) && (${methods})`,
        service,
        entryPoints,
        middlewares: [...bucket, 'auth-member', EDGE_MIDDLEWARES.bodyDefault, ...chainOf(routing, service)],
        tls: {},
        priority: PRIORITY.catchAllWrite,
      });
      return [
        [`writes-${service}`, router(['websecure', 'trusted'], [])],
        [onEntrypoint('public', `writes-${service}`), router(['public'], defaultBucket(config, 'public'))],
      ];
    }),
  );
}

/**
 * `public`'s copies of the routes file's routers users reach (each with the default bucket), and the
 * static files' router: the frontend's router for `GET`/`HEAD` under /static/, without it.
 */
function publicAppRouters(config: ParityConfig, routing: EdgeRouting): Record<string, TraefikRouter> {
  const routers: Record<string, TraefikRouter> = {};
  const onPublic = ({ rule, service, middlewares = [], ...rest }: TraefikRouter, bucket: string[]): TraefikRouter => ({ rule, service, entryPoints: ['public'], middlewares: [...bucket, ...middlewares], ...rest });
  for (const [name, router] of Object.entries(routing.usersRouters)) routers[onEntrypoint('public', name)] = onPublic(router, defaultBucket(config, 'public'));
  const frontend = routing.usersRouters.frontend;
  if (frontend) {
    const rule = `(Method(\`GET\`) || Method(\`HEAD\`)) && PathPrefix(\`${STATIC_PREFIX}\`)`;
    routers[STATIC_ROUTER] = onPublic({ ...frontend, rule, priority: PRIORITY.staticFiles }, []);
  }
  return routers;
}

const forwardAuth = (access: Exclude<RouteAccess, 'anonymous'>) => ({
  forwardAuth: { address: `http://auth:${STUB_PORT}/verify?role=${access}`, authResponseHeaders: ['X-Auth-User', 'X-Auth-Role'] },
});

function middlewares(config: ParityConfig): Record<string, object> {
  const limit = config.edge.rateLimit;
  const bucket = (average: number, burst: number) => ({ rateLimit: { average, burst, period: `${limit.periodSeconds}s` } });
  const out: Record<string, object> = {
    'security-headers': {
      headers: {
        stsSeconds: 31_536_000,
        stsIncludeSubdomains: true,
        contentSecurityPolicy: CONTENT_SECURITY_POLICY,
        frameDeny: true,
        contentTypeNosniff: true,
        referrerPolicy: 'strict-origin-when-cross-origin',
        permissionsPolicy: 'camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()',
        customResponseHeaders: { 'X-Powered-By': '' },
      },
    },
    // An empty value removes the header: users can't pin a color (the idle one is the previous version).
    'strip-color': { headers: { customRequestHeaders: { [COLOR_HEADER]: '' } } },
    [EDGE_MIDDLEWARES.bodyDefault]: { buffering: { maxRequestBodyBytes: config.edge.bodyLimitBytes } },
    'auth-member': forwardAuth('member'),
    'auth-editor': forwardAuth('editor'),
    'auth-admin': forwardAuth('admin'),
    // 255.255.255.255 is never a client: every request is refused (403).
    'deny-all': { ipAllowList: { sourceRange: ['255.255.255.255/32'] } },
    'dashboard-auth': { basicAuth: { usersFile: `/run/secrets/${DASHBOARD_USERS_SECRET}`, realm: 'Parity Traefik dashboard', removeHeader: true } },
    [EDGE_MIDDLEWARES.operators]: { chain: { middlewares: ['security-headers'] } },
    [EDGE_MIDDLEWARES.trustedUsers]: { chain: { middlewares: ['strip-color', 'security-headers'] } },
    // The default bucket is on the routers (every users' router on `public` but the static files').
    [EDGE_MIDDLEWARES.users]: { chain: { middlewares: ['strip-color', 'security-headers'] } },
  };
  if (limit.enabled) {
    out[EDGE_MIDDLEWARES.rateDefault] = bucket(limit.average, limit.burst);
    for (const [prefix, route] of Object.entries(limit.routes)) out[`rate-${slug(prefix)}`] = bucket(route.average, route.burst);
  }
  for (const [prefix, bytes] of Object.entries(config.edge.routeBodyLimits)) out[`body-${slug(prefix)}`] = { buffering: { maxRequestBodyBytes: bytes } };
  return out;
}

/** Go's names for TLS 1.2's AEAD suites with forward secrecy (TLS 1.3's are fixed and all good). */
const CIPHER_SUITES = [
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
];

export interface EdgeSecurity {
  readonly routers: Record<string, object>;
  readonly middlewares: Record<string, object>;
  readonly tlsOptions: object;
}

export function edgeSecurityConfig(config: ParityConfig, routing: EdgeRouting): EdgeSecurity {
  // Health, metrics and diagnostics are for operators: users get 403 (no address is allowed).
  const operatorPaths = (entrypoint: UsersEntrypoint): TraefikRouter => ({
    rule: OPERATOR_PATHS.map((path) => `PathPrefix(\`${path}\`)`).join(' || '),
    service: 'frontend',
    entryPoints: [entrypoint],
    // Refused at once, whatever the bucket: a bucket in front would turn a user's third 403 into a 429.
    middlewares: ['deny-all'],
    tls: {},
    priority: PRIORITY.operatorPaths,
  });
  const routers: Record<string, object> = {
    dashboard: { rule: 'PathPrefix(`/api`) || PathPrefix(`/dashboard`)', entryPoints: ['traefik'], service: 'api@internal', middlewares: ['dashboard-auth'] },
    ...catchAllWriteRouters(config, routing),
    [onEntrypoint('public', 'operator-paths')]: operatorPaths('public'),
    [onEntrypoint('trusted', 'operator-paths')]: operatorPaths('trusted'),
    ...publicAppRouters(config, routing),
  };
  for (const route of ROUTES.filter((r) => r.service === 'auth' || (APP_SERVICES as readonly string[]).includes(r.service))) {
    for (const entrypoint of ['public', 'trusted', 'websecure'] as const) {
      const [name, router] = routeRouter(config, routing, route, entrypoint);
      routers[name] = router;
    }
  }
  return {
    routers,
    middlewares: middlewares(config),
    tlsOptions: { default: { minVersion: 'VersionTLS12', cipherSuites: CIPHER_SUITES, curvePreferences: ['X25519', 'CurveP256'] } },
  };
}
