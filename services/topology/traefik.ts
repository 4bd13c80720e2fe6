/**
 * Edge: Traefik v3. Static config (entrypoints, TLS, ping, metrics, file provider) and the
 * dynamic config (routers, weighted blue/green services, forwardAuth) it watches.
 */
import type { Color, ParityConfig } from '../config/schema.js';
import { APP_SERVICES, type AppService } from '../config/profiles.js';
import { COLOR_HEADER, STUB_PORT } from '../contracts/index.js';
import { PROJECT, STATE, hostFor, publish } from './common.js';
import { clusterNetwork } from './cluster.js';
import { FRONT_ENTRYPOINTS, frontNetwork } from './front.js';
import { edgeSecurityConfig, DASHBOARD_USERS_SECRET, EDGE_MIDDLEWARES, type TraefikRouter } from './edge-security.js';
import { appEndpoint, CHAOS_APIS, devEndpoint } from './chaos.js';
import { DEV_HEADER, devOrStackService, devService, healthPaths, hostApps, ownHost } from './own-services.js';
import type { FileSpec, ServiceSpec } from './types.js';

/** Path prefixes each application service answers (from the architecture's endpoint list). */
export const APP_ROUTES: Readonly<Record<AppService, readonly string[]>> = {
  frontend: ['/'],
  ivor: ['/api/chat', '/api/resources'],
  events: ['/api/events', '/api/calendar'],
  newsroom: ['/api/articles', '/api/categories'],
};

/** Admin routes: forwardAuth requires the admin role before the request reaches the app. */
export const ADMIN_ROUTES: readonly string[] = ['/admin', '/api/admin'];

/**
 * Inside the container. `websecure`/`web` are the operators' entrypoints (published on loopback
 * only: deploy gates, drills, benchmarks; the only ones where a color may be pinned); the front
 * sends users to `public` (and `public-web`), and sources trusted in `edge.rateLimit` to `trusted`.
 */
const PORTS = { web: 80, websecure: 443, traefik: 8080, metrics: 8082, ...FRONT_ENTRYPOINTS } as const;
export const TRAEFIK_METRICS_PORT = PORTS.metrics;

export function traefikService(config: ParityConfig, image: string): ServiceSpec {
  return {
    name: 'traefik',
    logical: 'traefik',
    tier: 'edge',
    image,
    command: ['--configFile=/etc/traefik/traefik.yml'],
    // Users reach Traefik through the front (ports.http/https); these are for operators, on loopback
    // whatever bindAddress says, on ephemeral ports (`docker compose port traefik 443` finds them).
    ports: [
      { bind: '127.0.0.1', container: PORTS.web },
      { bind: '127.0.0.1', container: PORTS.websecure },
      // Loopback unless `expose` names traefik (restrictBind).
      publish(config, config.ports.dashboard, PORTS.traefik),
    ],
    volumes: [
      './traefik/traefik.yml:/etc/traefik/traefik.yml:ro',
      // A directory, not a file: the file provider misses edits to a single bind-mounted
      // file (the inode changes under the mount). Writers use temp file + rename inside it.
      `${STATE}/traefik/dynamic:/etc/traefik/dynamic:ro`,
      `${STATE}/tls:/etc/traefik/tls:ro`,
    ],
    secrets: [DASHBOARD_USERS_SECRET],
    healthcheck: { test: ['CMD', 'traefik', 'healthcheck', '--configFile=/etc/traefik/traefik.yml'] },
    dependsOn: { auth: 'service_healthy' },
    url: `https://${hostFor(config)}:${config.ports.https}/ (dashboard http://${hostFor(config, 'traefik')}:${config.ports.dashboard}/dashboard/, user admin, password in .parity/secrets/traefik_dashboard_password)`,
  };
}

export function traefikStaticConfig(config: ParityConfig): object {
  // Redirect to the users' https port (the front's), not a container port.
  const redirect = { redirections: { entryPoint: { to: `:${config.ports.https}`, scheme: 'https', permanent: false } } };
  // The PROXY protocol header is believed from the front alone: its connections come from the front network's gateway.
  // On a cluster (make cluster-up) the front's connections arrive from the host's end of the cluster's bridge.
  const fromFront = { proxyProtocol: { trustedIPs: [`${frontNetwork(config).gateway}/32`, `${clusterNetwork(config, PROJECT).gateway}/32`] } };
  return {
    entryPoints: {
      web: { address: `:${PORTS.web}`, http: redirect },
      websecure: { address: `:${PORTS.websecure}`, http: { tls: {}, middlewares: ['operators@file'] } },
      public: { address: `:${PORTS.public}`, ...fromFront, http: { tls: {}, middlewares: ['users@file'] } },
      trusted: { address: `:${PORTS.trusted}`, ...fromFront, http: { tls: {}, middlewares: ['trusted-users@file'] } },
      'public-web': { address: `:${PORTS['public-web']}`, ...fromFront, http: redirect },
      traefik: { address: `:${PORTS.traefik}` },
      metrics: { address: `:${PORTS.metrics}` },
    },
    // The dashboard and API: on their own entrypoint (loopback), behind basic auth (the edge file's `dashboard` router).
    api: { dashboard: true },
    ping: { entryPoint: 'traefik' },
    metrics: {
      prometheus: {
        entryPoint: 'metrics',
        addEntryPointsLabels: true,
        addRoutersLabels: true,
        addServicesLabels: true,
        // Finer than Traefik's default (0.1, 0.3, 1.2, 5 s): the canary judges p95 against 500 ms.
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      },
    },
    // A rollback's new weights take effect within half a second of the file's rename (default 2 s).
    providers: { providersThrottleDuration: '500ms', file: { directory: '/etc/traefik/dynamic', watch: true } },
    log: { level: 'INFO' },
    accessLog: { format: 'json' },
    global: { checkNewVersion: false, sendAnonymousUsage: false },
  };
}

/**
 * The routes file's routers serve operators (`websecure`) and the trusted sources (`trusted`); users
 * on `public` get copies of them in the edge file, with the default bucket (edge-security.ts).
 * Pinned colors: operators' `websecure` only.
 */
export const ROUTES_FILE_ENTRYPOINTS: readonly string[] = ['websecure', 'trusted'];

const pathRule = (prefixes: readonly string[]) => prefixes.map((prefix) => `PathPrefix(\`${prefix}\`)`).join(' || ');

/** Weights for a color split: the active color at `percent`, the other at the rest. */
export function colorWeights(active: Color, percent: number): Record<Color, number> {
  const other: Color = active === 'blue' ? 'green' : 'blue';
  return { [active]: percent, [other]: 100 - percent } as Record<Color, number>;
}

export interface DynamicOptions {
  /**
   * Cookie-based stickiness on the weighted services (during a canary, so a user's session
   * stays on one version). Off when one color has all the traffic: a sticky cookie would
   * otherwise keep routing users to the old color after the switch.
   */
  readonly stickyCookie?: string;
}

/** The APIs behind an edge breaker and an edge fallback (the frontend renders fallbacks itself). */
export const EDGE_APIS = CHAOS_APIS;
const isEdgeApi = (app: AppService): app is (typeof EDGE_APIS)[number] => (EDGE_APIS as readonly string[]).includes(app);

/** The middleware chain in front of an API's routers (`<api>-edge`: fallback page outside, breaker inside). */
export const edgeChain = (api: string): string => `${api}-edge`;

/** The frontend's page for an API the edge can't reach (`{status}`: what Traefik would have answered). */
export const edgeFallbackPath = (api: string): string => `/fallback/${api}?status={status}`;

/**
 * The routers users reach through a weighted blue/green service, and the admin and auth routers,
 * without their entrypoints: the routes file puts them on `websecure` and `trusted`, the edge file
 * on `public` (with the default bucket).
 */
export function usersRouters(): Record<string, TraefikRouter> {
  const routers: Record<string, TraefikRouter> = {};
  for (const app of APP_SERVICES) {
    // Users' routes only: a request pinned to a color (deploy gates, operators) gets the color's
    // real answer, never the edge's fallback or a breaker tripped by someone else's traffic.
    // Paths the route table doesn't list (static files, fallback pages): the default body limit.
    routers[app] = { rule: pathRule(APP_ROUTES[app]), service: app, middlewares: [EDGE_MIDDLEWARES.bodyDefault, ...(isEdgeApi(app) ? [edgeChain(app)] : [])], tls: {} };
  }
  routers.admin = { rule: pathRule(ADMIN_ROUTES), service: 'frontend', middlewares: ['admin-auth'], tls: {}, priority: 2000 };
  routers.auth = { rule: pathRule(['/auth']), service: 'auth', tls: {} };
  return routers;
}

/**
 * The routes: every route through a weighted blue/green service. Written by `make gen` and by
 * deploys (weights, stickiness), so it holds nothing else: the servers, middlewares and TLS
 * live in the edge file, which depends on the config (and so do the users' routers on `public`).
 */
export function traefikDynamicConfig(weights: Record<Color, number>, options: DynamicOptions = {}): object {
  const routers: Record<string, object> = {};
  const services: Record<string, object> = {};
  const shared = usersRouters();
  for (const app of APP_SERVICES) {
    const { rule, service, ...router } = shared[app]!;
    routers[app] = { rule, service, entryPoints: ROUTES_FILE_ENTRYPOINTS, ...router };
    services[app] = {
      weighted: {
        services: (['blue', 'green'] as const).map((color) => ({ name: `${app}-${color}`, weight: weights[color] })),
        ...(options.stickyCookie ? { sticky: { cookie: { name: options.stickyCookie, secure: true, httpOnly: true, sameSite: 'lax' } } } : {}),
      },
    };
    for (const color of ['blue', 'green'] as const) {
      // Pinned routers win over the weighted one when the color header is present.
      routers[`${app}-${color}`] = {
        rule: `(${rule}) && Header(\`${COLOR_HEADER}\`, \`${color}\`)`,
        service: `${app}-${color}`,
        entryPoints: ['websecure'],
        tls: {},
        priority: 1000 + rule.length,
      };
    }
  }
  for (const name of ['admin', 'auth'] as const) {
    const { rule, service, ...router } = shared[name]!;
    routers[name] = { rule, service, entryPoints: ROUTES_FILE_ENTRYPOINTS, ...router };
  }
  return { http: { routers, services } };
}

/** Traefik's duration syntax from milliseconds (`100ms`, `10s`). */
const duration = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/**
 * The edge file: each color's servers (through Toxiproxy with chaos on), the middlewares (admin
 * forwardAuth; per API an `errors` fallback page from the frontend and, unless turned off, a
 * circuitBreaker from `breakers.edge`), and the certificate. Traefik's file provider merges it with
 * the routes file, so the routers there can name what is defined here.
 */
export function traefikEdgeConfig(config: ParityConfig): object {
  const services: Record<string, object> = {};
  for (const app of APP_SERVICES) {
    for (const color of ['blue', 'green'] as const) {
      const endpoint = appEndpoint(config, app, color);
      services[`${app}-${color}`] = {
        loadBalancer: {
          servers: [{ url: `http://${endpoint.host}:${endpoint.port}` }],
          // The frontend: liveness, not the full /health (with a dependency down it still answers
          // with its fallbacks). The APIs have none: an unreachable API answers 502, which their
          // edge fallback page and breaker handle; a health check would turn it into Traefik's bare
          // 503 "no available server", which can't be told from an API's own 503.
          ...(isEdgeApi(app) ? {} : { healthCheck: { path: healthPaths(config, app).live, interval: '5s', timeout: '2s' } }),
        },
      };
    }
  }
  services.auth = { loadBalancer: { servers: [{ url: `http://auth:${STUB_PORT}` }] } };
  const edge = config.breakers.edge;
  const middlewares: Record<string, object> = {
    'admin-auth': {
      forwardAuth: {
        address: `http://auth:${STUB_PORT}/verify?role=admin`,
        authResponseHeaders: ['X-Auth-User', 'X-Auth-Role'],
      },
    },
  };
  for (const api of EDGE_APIS) {
    // Outside the breaker: it answers for the breaker (its private code, shown to users as 503) and
    // for an API Traefik can't reach (502/504). An API's own 503 with its own fallback passes untouched.
    middlewares[`${api}-fallback`] = {
      errors: { status: ['502', '504', String(EDGE_BREAKER_CODE)], statusRewrites: { [String(EDGE_BREAKER_CODE)]: 503 }, service: 'frontend', query: edgeFallbackPath(api) },
    };
    if (edge.enabled) {
      middlewares[`${api}-breaker`] = {
        circuitBreaker: {
          expression: edge.expression,
          checkPeriod: duration(edge.checkPeriodMs),
          fallbackDuration: duration(edge.fallbackSeconds * 1000),
          recoveryDuration: duration(edge.recoverySeconds * 1000),
          responseCode: EDGE_BREAKER_CODE,
        },
      };
    }
    // Inside the breaker: one retry of a request whose connection failed before any answer (a
    // kept-alive connection to a recreated container), so a single stale socket doesn't trip it.
    middlewares[`${api}-retry`] = { retry: { attempts: 2, initialInterval: '50ms' } };
    middlewares[edgeChain(api)] = { chain: { middlewares: [`${api}-fallback`, ...(edge.enabled ? [`${api}-breaker`] : []), `${api}-retry`] } };
  }
  const security = edgeSecurityConfig(config, {
    prefixes: { ...APP_ROUTES, auth: ['/auth'] },
    chainOf: (service) => (isEdgeApi(service as AppService) ? edgeChain(service) : undefined),
    usersRouters: usersRouters(),
  });
  const routers = { ...security.routers };
  for (const app of hostApps(config)) {
    Object.assign(services, devServices(config, app));
    Object.assign(routers, devRouters(config, app, security.routers));
  }
  return {
    http: { routers, services, middlewares: { ...middlewares, ...security.middlewares } },
    tls: {
      certificates: [{ certFile: '/etc/traefik/tls/cert.pem', keyFile: '/etc/traefik/tls/key.pem' }],
      stores: { default: { defaultCertificate: { certFile: '/etc/traefik/tls/cert.pem', keyFile: '/etc/traefik/tls/key.pem' } } },
      options: security.tlsOptions,
    },
  };
}

/**
 * A developer's process on the host (`source: host`): Traefik's service for it, health-checked on
 * its liveness path, and a failover service users' routers name — the process while it answers,
 * else the stack's colors — so the edge never routes to nothing.
 */
function devServices(config: ParityConfig, app: AppService): Record<string, object> {
  const endpoint = devEndpoint(config, app)!;
  return {
    [devService(app)]: { loadBalancer: { servers: [{ url: `http://${endpoint.host}:${endpoint.port}` }], healthCheck: { path: healthPaths(config, app).live, interval: '2s', timeout: '1s' } } },
    [devOrStackService(app)]: { failover: { service: devService(app), fallback: app } },
  };
}

/**
 * Twins of the users' routers (entrypoints public and trusted) that reach `app`'s weighted service:
 * to the host process for every request (`routing: all`), or for those carrying `X-Parity-Dev:
 * <name>` (`routing: header`). One priority above the router they copy, so they win where it matches.
 * Operators' routers (websecure, the color-pinned ones) keep the stack's colors.
 */
function devRouters(config: ParityConfig, app: AppService, routers: Readonly<Record<string, object>>): Record<string, object> {
  const host = ownHost(config, app)!;
  const twins: Record<string, object> = {};
  for (const [name, value] of Object.entries(routers)) {
    const router = value as TraefikRouter & { entryPoints?: readonly string[]; priority?: number };
    if (router.service !== app || !router.entryPoints?.some((entrypoint) => entrypoint === 'public' || entrypoint === 'trusted')) continue;
    const rule = host.routing === 'header' ? `(${router.rule}) && Header(\`${DEV_HEADER}\`, \`${host.name}\`)` : router.rule;
    const entryPoints = router.entryPoints.filter((entrypoint) => entrypoint === 'public' || entrypoint === 'trusted');
    twins[`${name}-dev`] = { ...router, entryPoints, rule, service: devOrStackService(app), priority: (router.priority ?? router.rule.length) + 1 };
  }
  return twins;
}

/**
 * What an open edge breaker answers inside Traefik: a code no API sends, so the fallback page can
 * tell it from an API's own 503; users get 503 (`statusRewrites`) with the edge fallback.
 */
export const EDGE_BREAKER_CODE = 599;

const SOURCE = 'services/topology/traefik.ts';

/** The watched routes file for a split (`make gen`'s copy has the active color at 100 %; deploys write their own). */
export function traefikRoutesFile(weights: Record<Color, number>, options: DynamicOptions = {}): FileSpec {
  return { path: 'traefik/dynamic/routes.yml', format: 'yaml', value: traefikDynamicConfig(weights, options), source: SOURCE };
}

/** The edge file in Traefik's watched directory: `make up` installs it beside the routes. */
export const EDGE_FILE = 'traefik/dynamic/edge.yml';

export function traefikFiles(config: ParityConfig): FileSpec[] {
  return [
    { path: 'traefik/traefik.yml', format: 'yaml', value: traefikStaticConfig(config), source: SOURCE },
    traefikRoutesFile(colorWeights(config.activeColor, 100)),
    { path: EDGE_FILE, format: 'yaml', value: traefikEdgeConfig(config), source: SOURCE },
  ];
}
