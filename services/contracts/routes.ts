/**
 * The platform's route table: every route users reach through the edge, who may call it, and which
 * service answers. One table, three readers: the edge renders its forwardAuth routers from it (a
 * write route needs its role before the request reaches the app), the stubs check the same role
 * themselves (defence in depth), and the attack suite generates its RBAC matrix from it.
 */

/** Who may call a route: anyone, or a signed-in user with at least this role. */
export const ROUTE_ACCESS = ['anonymous', 'member', 'editor', 'admin'] as const;
export type RouteAccess = (typeof ROUTE_ACCESS)[number];

export const WRITE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type RouteMethod = 'GET' | (typeof WRITE_METHODS)[number];

export type RouteService = 'frontend' | 'ivor' | 'events' | 'newsroom' | 'auth';

export interface Route {
  readonly method: RouteMethod;
  /** Fastify's pattern (`/api/events/:id`): `:name` is one path segment. */
  readonly path: string;
  readonly service: RouteService;
  readonly access: RouteAccess;
}

const route = (method: RouteMethod, path: string, service: RouteService, access: RouteAccess): Route => ({ method, path, service, access });

export const ROUTES: readonly Route[] = [
  route('POST', '/auth/register', 'auth', 'anonymous'),
  route('POST', '/auth/login', 'auth', 'anonymous'),
  route('POST', '/auth/refresh', 'auth', 'anonymous'),
  route('POST', '/auth/logout', 'auth', 'member'),
  route('GET', '/auth/me', 'auth', 'member'),
  route('PUT', '/auth/users/:email/role', 'auth', 'admin'),
  route('GET', '/api/events', 'events', 'anonymous'),
  route('GET', '/api/events/:id', 'events', 'anonymous'),
  route('POST', '/api/events', 'events', 'editor'),
  route('PATCH', '/api/events/:id', 'events', 'editor'),
  route('DELETE', '/api/events/:id', 'events', 'editor'),
  route('GET', '/api/calendar', 'events', 'anonymous'),
  route('POST', '/api/events/:id/rsvp', 'events', 'member'),
  route('PUT', '/api/events/:id/image', 'events', 'editor'),
  route('GET', '/api/events/:id/image', 'events', 'anonymous'),
  route('POST', '/api/chat', 'ivor', 'member'),
  route('GET', '/api/chat', 'ivor', 'member'),
  route('GET', '/api/chat/:conversationId', 'ivor', 'member'),
  route('GET', '/api/resources', 'ivor', 'anonymous'),
  route('GET', '/api/articles', 'newsroom', 'anonymous'),
  route('GET', '/api/articles/:id', 'newsroom', 'anonymous'),
  route('POST', '/api/articles', 'newsroom', 'editor'),
  route('GET', '/api/categories', 'newsroom', 'anonymous'),
  route('POST', '/api/categories', 'newsroom', 'admin'),
  route('GET', '/api/articles/:id/comments', 'newsroom', 'anonymous'),
  route('POST', '/api/articles/:id/comments', 'newsroom', 'member'),
  route('PUT', '/api/articles/:id/attachments/:name', 'newsroom', 'editor'),
  route('GET', '/api/articles/:id/attachments/:name', 'newsroom', 'anonymous'),
  route('GET', '/', 'frontend', 'anonymous'),
  route('GET', '/events', 'frontend', 'anonymous'),
  route('GET', '/news', 'frontend', 'anonymous'),
  route('GET', '/news/:id', 'frontend', 'anonymous'),
  route('GET', '/chat', 'frontend', 'anonymous'),
  route('GET', '/admin', 'frontend', 'admin'),
  // Browsers report CSP violations without credentials.
  route('POST', '/csp-report', 'frontend', 'anonymous'),
];

/** Operator-only paths on every service: health, metrics, the frontend's diagnostics. The edge answers 403 to users. */
export const OPERATOR_PATHS: readonly string[] = ['/health', '/metrics', '/frontend/'];

export const isWrite = (method: string): boolean => (WRITE_METHODS as readonly string[]).includes(method.toUpperCase());

/** The route's path as an anchored regular expression (Traefik's `PathRegexp`, the attack suite's matcher). */
export const routeRegexp = (path: string): string => `^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z]+/g, '[^/]+')}$`;

/** At least `needed`? Anonymous routes admit everyone; roles are ordered member < editor < admin. */
export const admits = (needed: RouteAccess, role: RouteAccess): boolean => ROUTE_ACCESS.indexOf(role) >= ROUTE_ACCESS.indexOf(needed);
