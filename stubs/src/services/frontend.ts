/**
 * The frontend: the platform's pages (home, chat, events, news, admin) rendered on the server
 * from the APIs of the same color, each call behind its own breaker. When an API is down the
 * page shows the architecture's fallback for it and says so. In the browser, `app.js` calls
 * the APIs through Traefik and keeps the last good responses for offline use.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { createBreaker, type Breaker } from '../runtime/breakers.js';
import { FALLBACK_HEADER } from '../../../services/contracts/index.js';
import { Counter } from 'prom-client';
import { HttpError, parseInput, type StubContext, type StubDefinition } from '../runtime/app.js';
import { EVENTS_FALLBACK, IVOR_FALLBACK, NEWSROOM_FALLBACK, type Link } from './fallbacks.js';
import { html, toString, type RawHtml } from './html.js';
import { acceptCookieToken } from '../runtime/sessions.js';

type Upstream = 'ivor' | 'events' | 'newsroom';

/** The image keeps `public/` beside the bundles (`/app/frontend.mjs`); from the sources it is `stubs/public`. */
function publicDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [process.env.PUBLIC_DIR, join(here, 'public'), join(here, '..', '..', 'public')].filter(Boolean) as string[];
  const found = candidates.find((dir) => existsSync(join(dir, 'app.js')));
  if (!found) throw new Error(`frontend: static assets not found (looked in ${candidates.join(', ')})`);
  return found;
}

interface Section<T> {
  readonly data?: T;
  /** The API's HTTP status (absent when the call failed). */
  readonly status?: number;
  /** Set when this section shows fallback content, with why. */
  readonly fallback?: string;
}

/** The same policy the edge sets (services/topology/edge-security.ts): violations are reported to CSP_REPORT_PATH. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; report-uri /csp-report";

/** The last CSP violation reports browsers sent (the attack suite reads them from inside the container). */
const CSP_REPORTS_KEPT = 100;

/**
 * What an empty list means and how to fill it; said only when the API answered (an offline
 * API has its fallback text instead). `make seed` loads the demo data on a dev stack.
 */
function emptyState(section: Section<unknown>, items: readonly unknown[] | undefined, what: string, how: string): RawHtml | '' {
  if (section.fallback || section.data === undefined || (items?.length ?? 0) > 0) return '';
  return html`<p class="empty" data-empty="true">${what} ${how} On a development stack, <code>make seed</code> loads demo events, articles and accounts.</p>`;
}

const linkList = (links: readonly Link[]) => html`<ul class="links">${links.map((link) => html`<li><a href="${link.url}">${link.title}</a></li>`)}</ul>`;

function page(title: string, body: RawHtml, fallbacks: readonly string[]): string {
  return toString(html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · BLKOUT</title><link rel="stylesheet" href="/static/style.css"></head>
<body><header><a class="brand" href="/">BLKOUT</a><nav><a href="/">Home</a><a href="/chat">Chat with IVOR</a><a href="/events">Events</a><a href="/news">News</a></nav></header>
${fallbacks.length ? html`<p class="banner" role="status" data-fallback="${fallbacks.join(' ')}">Some parts of this page are showing saved or offline content (${fallbacks.join(', ')}).</p>` : ''}
<main>${body}</main><script src="/static/app.js" defer></script></body></html>`);
}

export const frontend: StubDefinition = {
  clients: {},
  migrations: [],
  requires: [],
  async businessCheck() {
    // L3 for the frontend: its pages render (the APIs' own health is theirs to report).
    const rendered = page('health', html`<p>${'<ok>'}</p>`, []);
    if (!rendered.includes('&#60;ok&#62;')) throw new Error('page rendering does not escape text');
    return { renders: true };
  },
  routes(app, context: StubContext) {
    const { settings, metrics } = context;
    const assets = publicDir();
    const files = Object.fromEntries(
      (['app.js', 'style.css'] as const).map((name) => [name, readFileSync(join(assets, name), 'utf8')]),
    );
    const breakers: Record<Upstream, Breaker> = {
      ivor: createBreaker('ivor', settings.breakers, metrics, { timeoutMs: settings.breakers.timeoutsMs.upstream }),
      events: createBreaker('events', settings.breakers, metrics, { timeoutMs: settings.breakers.timeoutsMs.upstream }),
      newsroom: createBreaker('newsroom', settings.breakers, metrics, { timeoutMs: settings.breakers.timeoutsMs.upstream }),
    };
    app.addHook('onClose', async () => Object.values(breakers).forEach((breaker) => breaker.shutdown()));

    /** A cross-service GET through the upstream's breaker; an API's own fallback counts as degraded. */
    const fetchSection = async <T>(upstream: Upstream, path: string): Promise<Section<T>> => {
      try {
        const response = await breakers[upstream].call(`GET ${path.split('?')[0]}`, async () => {
          const result = await fetch(`${settings.upstreams[upstream]}${path}`, { signal: AbortSignal.timeout(settings.breakers.timeoutsMs.upstream) });
          if (result.status >= 500 && !result.headers.get(FALLBACK_HEADER)) throw new Error(`${upstream} answered ${result.status}`);
          return { fallback: result.headers.get(FALLBACK_HEADER), status: result.status, body: (await result.json()) as T };
        });
        return response.fallback ? { data: response.body, status: response.status, fallback: `${upstream} served its fallback` } : { data: response.body, status: response.status };
      } catch (error) {
        metrics.fallbacks.inc({ fallback: `frontend-${upstream}` });
        return { fallback: (error as Error).message };
      }
    };
    const send = (reply: import('fastify').FastifyReply, title: string, body: RawHtml, sections: Record<string, Section<unknown>>) => {
      const fallbacks = Object.entries(sections).filter(([, section]) => section.fallback).map(([name]) => name);
      if (fallbacks.length) reply.header(FALLBACK_HEADER, fallbacks.join(','));
      return reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', CSP).send(page(title, body, fallbacks));
    };

    type Events = { events?: { id: string; title: string; startsAt: string; location: string }[]; archive?: { title: string; startsAt: string }[] };
    type Articles = { articles?: { id: string; title: string; summary: string; publishedAt: string }[] };
    type Resources = { resources?: Link[] };

    const eventsHtml = (section: Section<Events>) =>
      html`<section class="events" data-section="events">${section.fallback ? html`<p class="fallback">Events are offline. ${EVENTS_FALLBACK.calendarNote} Contact: <a href="mailto:${EVENTS_FALLBACK.contact.email}">${EVENTS_FALLBACK.contact.email}</a></p>` : ''}
      ${emptyState(section, section.data?.events, 'No upcoming events yet.', 'Editors add them with POST /api/events (an editor or admin token).')}
      <ul>${(section.data?.events ?? []).map((event) => html`<li><strong>${event.title}</strong> · ${event.startsAt.slice(0, 16).replace('T', ' ')} · ${event.location}</li>`)}</ul>
      ${section.data?.archive?.length ? html`<h3>Previous events</h3><ul>${section.data.archive.map((event) => html`<li>${event.title} (${event.startsAt.slice(0, 10)})</li>`)}</ul>` : ''}</section>`;
    const newsHtml = (section: Section<Articles>) =>
      html`<section class="news" data-section="news">${section.fallback ? html`<p class="fallback">The newsroom is offline; saved summaries and other sources below.</p>${linkList([...NEWSROOM_FALLBACK.externalSources, ...NEWSROOM_FALLBACK.discussions])}` : ''}
      ${emptyState(section, section.data?.articles, 'No news yet.', 'Editors publish articles with POST /api/articles (an editor or admin token).')}
      <ul>${(section.data?.articles ?? []).map((article) => html`<li><a href="/news/${article.id}"><strong>${article.title}</strong></a><p>${article.summary}</p></li>`)}</ul></section>`;
    const resourcesHtml = (section: Section<Resources>) =>
      html`<section class="resources" data-section="ivor">${section.fallback ? html`<p class="fallback">${IVOR_FALLBACK.guidance}</p>` : ''}${linkList(section.data?.resources ?? IVOR_FALLBACK.resources)}</section>`;

    app.get('/', async (_request, reply) => {
      const [events, news, resources] = await Promise.all([
        fetchSection<Events>('events', `/api/events?limit=5&from=${encodeURIComponent(new Date().toISOString())}`),
        fetchSection<Articles>('newsroom', '/api/articles?limit=5'),
        fetchSection<Resources>('ivor', '/api/resources'),
      ]);
      return send(reply, 'Home', html`<h1>Community platform</h1><h2>Upcoming events</h2>${eventsHtml(events)}<h2>Latest news</h2>${newsHtml(news)}<h2>Resources</h2>${resourcesHtml(resources)}`, { events, newsroom: news, ivor: resources });
    });
    app.get('/events', async (_request, reply) => {
      const events = await fetchSection<Events>('events', '/api/events?limit=50');
      return send(reply, 'Events', html`<h1>Events</h1>${eventsHtml(events)}`, { events });
    });
    app.get('/news', async (_request, reply) => {
      const news = await fetchSection<Articles>('newsroom', '/api/articles?limit=20');
      return send(reply, 'News', html`<h1>News</h1>${newsHtml(news)}`, { newsroom: news });
    });
    app.get('/news/:id', async (request, reply) => {
      const { id } = parseInput(z.object({ id: z.uuid('must be an article id (UUID)') }), request.params, 'params');
      const article = await fetchSection<{ title?: string; body?: string; author?: string; article?: { title: string; summary: string } }>('newsroom', `/api/articles/${id}`);
      if (article.status === 404) {
        reply.code(404);
        return send(reply, 'Not found', html`<p>There is no such article.</p>${linkList(NEWSROOM_FALLBACK.discussions)}`, {});
      }
      const shown = article.data?.title ? { title: article.data.title, text: article.data.body ?? '' } : article.data?.article ? { title: article.data.article.title, text: article.data.article.summary } : undefined;
      return send(reply, shown?.title ?? 'Article', shown ? html`<article><h1>${shown.title}</h1><p>${shown.text}</p></article>` : html`<p>This article can't be shown right now.</p>${linkList(NEWSROOM_FALLBACK.discussions)}`, { newsroom: article });
    });
    app.get('/chat', async (_request, reply) => {
      const resources = await fetchSection<Resources>('ivor', '/api/resources');
      return send(
        reply,
        'Chat with IVOR',
        html`<h1>Chat with IVOR</h1>
        <form id="login" class="card"><label>Email <input name="email" type="email" required></label><label>Password <input name="password" type="password" required></label><button>Log in</button></form>
        <form id="chat" class="card"><label>Your question <input name="message" maxlength="2000" required></label><button>Ask</button></form>
        <ol id="conversation" aria-live="polite"></ol><h2>Resources</h2>${resourcesHtml(resources)}`,
        { ivor: resources },
      );
    });
    /** Each API's listing (at most `limit` items), each through its own breaker. */
    const fetchListings = async (limit: number): Promise<Record<Upstream, Section<unknown>>> => {
      const paths: Record<Upstream, string> = { ivor: '/api/resources', events: `/api/events?limit=${limit}`, newsroom: `/api/articles?limit=${limit}` };
      const upstreams = ['ivor', 'events', 'newsroom'] as const;
      return Object.fromEntries(await Promise.all(upstreams.map(async (upstream) => [upstream, await fetchSection(upstream, paths[upstream])] as const))) as Record<Upstream, Section<unknown>>;
    };

    // Behind Traefik's forwardAuth (admin role): the user's identity arrives in headers.
    // The edge's forwardAuth checked the session and the role; the frontend checks the token and
    // the role again (defence in depth: anything on the apps network reaches this port directly).
    app.get('/admin', async (request, reply) => {
      acceptCookieToken(request);
      const admin = await context.requireUser(request, 'admin');
      const user = admin.email || admin.id;
      const sections = await fetchListings(1);
      const down = Object.entries(sections).filter(([, section]) => section.fallback).map(([name]) => name);
      return send(
        reply,
        'Admin',
        html`<h1>Admin</h1><p>Signed in as ${user}.</p>${down.length ? html`<p class="fallback">Read-only mode: ${down.join(', ')} unavailable.</p>` : html`<p>All services available.</p>`}`,
        sections,
      );
    });
    app.get('/frontend/summary', async (_request, reply) => {
      const sections = await fetchListings(5);
      const down = Object.entries(sections).filter(([, section]) => section.fallback).map(([name]) => name);
      const fallback = down.length > 0;
      if (fallback) reply.header(FALLBACK_HEADER, down.join(','));
      return reply.send({ fallback, sections, breakers: Object.fromEntries(Object.entries(breakers).map(([name, breaker]) => [name, breaker.state()])) });
    });
    // Traefik's `errors` middleware asks for this page when an API can't be reached (502/504) or its
    // edge breaker is open (503): the architecture's fallback for that service, marked `edge-<api>`.
    const EDGE_FALLBACKS: Record<Upstream, Record<string, unknown>> = {
      ivor: { guidance: IVOR_FALLBACK.guidance, resources: IVOR_FALLBACK.resources },
      events: { events: [], contact: EVENTS_FALLBACK.contact, note: EVENTS_FALLBACK.calendarNote },
      newsroom: { articles: [], externalSources: NEWSROOM_FALLBACK.externalSources, discussions: NEWSROOM_FALLBACK.discussions },
    };
    app.get('/fallback/:api', async (request, reply) => {
      const { api } = parseInput(z.object({ api: z.enum(['ivor', 'events', 'newsroom']) }), request.params, 'params');
      const { status } = parseInput(z.object({ status: z.coerce.number().int().min(100).max(599).optional() }), request.query, 'query');
      // The edge breaker answers with a private code that Traefik rewrites to 503 before asking for this
      // page (an API's own 503 never comes here): 503 or 599 means the breaker is open.
      const why = status === 503 || status === 599 ? 'the edge circuit breaker is open' : status ? `the edge could not reach ${api} (HTTP ${status})` : `${api} is unavailable`;
      metrics.fallbacks.inc({ fallback: `edge-${api}` });
      return reply.header(FALLBACK_HEADER, `edge-${api}`).header('cache-control', 'no-store').send({ fallback: true, fallbackReason: why, ...EDGE_FALLBACKS[api] });
    });
    // Browsers POST a violation of the policy here (`report-uri`): counted, and the last ones kept for
    // `GET /frontend/csp-reports` (operators read it on the container: the edge doesn't route it to users).
    const cspReports: unknown[] = [];
    const violations = new Counter({ name: 'csp_violations_total', help: 'Content-Security-Policy violations browsers reported, by directive.', labelNames: ['directive'], registers: [metrics.registry] });
    app.addContentTypeParser(['application/csp-report', 'application/reports+json'], { parseAs: 'string', bodyLimit: 16 * 1024 }, (_request, body, done) => {
      try {
        done(null, JSON.parse(String(body)));
      } catch {
        done(new HttpError(400, 'body: expected a CSP report (JSON)', 'body'), undefined);
      }
    });
    app.post('/csp-report', async (request, reply) => {
      const report = (request.body as { 'csp-report'?: Record<string, unknown> } | undefined)?.['csp-report'];
      if (!report || typeof report !== 'object') throw new HttpError(400, 'body: expected {"csp-report": {...}}', 'body');
      const directive = String(report['effective-directive'] ?? report['violated-directive'] ?? 'unknown').split(' ')[0]!.slice(0, 40);
      violations.inc({ directive });
      cspReports.push({ at: new Date().toISOString(), directive, blocked: String(report['blocked-uri'] ?? '').slice(0, 200), document: String(report['document-uri'] ?? '').slice(0, 200) });
      if (cspReports.length > CSP_REPORTS_KEPT) cspReports.shift();
      return reply.code(204).send();
    });
    app.get('/frontend/csp-reports', async (_request, reply) => reply.header('cache-control', 'no-store').send({ reports: cspReports }));
    app.get('/static/:file', async (request, reply) => {
      const { file } = parseInput(z.object({ file: z.enum(['app.js', 'style.css']) }), request.params, 'params');
      return reply.header('content-type', file.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8').header('cache-control', 'public, max-age=300').send(files[file]);
    });
  },
};
