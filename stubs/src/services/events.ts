/**
 * Events: the community calendar. CRUD for editors, RSVPs (idempotent per user) for members,
 * a month view, and event images in the S3 store. Every editor change is audited (audit.ts). With the database down it serves the saved
 * calendar view, the archive of previous events and contact information.
 */
import { ensureSchema } from '../runtime/migrations.js';
import { z } from 'zod';
import { FALLBACK_HEADER, READ_FROM_HEADER } from '../../../services/contracts/index.js';
import { DependencyUnavailableError } from '../runtime/breakers.js';
import { HttpError, parseInput, type StubDefinition } from '../runtime/app.js';
import { createCache } from '../runtime/cache.js';
import { createDatabase } from '../runtime/database.js';
import { createStore } from '../runtime/store.js';
import { createSnapshot } from '../runtime/snapshot.js';
import { auditRefusals, insertAudit } from './audit.js';
import { EVENTS_FALLBACK } from './fallbacks.js';

export interface EventRecord {
  id: string;
  title: string;
  description: string;
  startsAt: string;
  endsAt: string | null;
  location: string;
  hasImage: boolean;
  rsvps: number;
}

const IMAGE_BUCKET = 'images';
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const;
/** What a missing image shows while the store is down: a neutral placeholder, flagged as a fallback. */
const PLACEHOLDER_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="180"><rect width="100%" height="100%" fill="#ddd"/><text x="50%" y="50%" text-anchor="middle" font-family="sans-serif" fill="#555">image unavailable</text></svg>';

export const eventsMigrations = [
  {
    id: 1,
    name: 'events-and-rsvps',
    sql: `
      ${ensureSchema('events')}
      CREATE TABLE IF NOT EXISTS events.events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(), title text NOT NULL, description text NOT NULL DEFAULT '',
        starts_at timestamptz NOT NULL, ends_at timestamptz, location text NOT NULL DEFAULT '',
        image_type text, created_by text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(), CHECK (ends_at IS NULL OR ends_at >= starts_at));
      CREATE INDEX IF NOT EXISTS events_by_start ON events.events (starts_at);
      CREATE TABLE IF NOT EXISTS events.rsvps (
        event_id uuid NOT NULL REFERENCES events.events(id) ON DELETE CASCADE, user_id text NOT NULL,
        status text NOT NULL CHECK (status IN ('going', 'interested', 'not-going')),
        updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (event_id, user_id));`,
  },
] as const;

const SELECT_EVENTS = `
  SELECT e.id, e.title, e.description, e.starts_at, e.ends_at, e.location, e.image_type IS NOT NULL AS has_image,
         (SELECT count(*) FROM events.rsvps r WHERE r.event_id = e.id AND r.status = 'going')::int AS rsvps
    FROM events.events e`;

interface EventRow {
  id: string;
  title: string;
  description: string;
  starts_at: Date;
  ends_at: Date | null;
  location: string;
  has_image: boolean;
  rsvps: number;
}

const toRecord = (row: EventRow): EventRecord => ({
  id: row.id,
  title: row.title,
  description: row.description,
  startsAt: row.starts_at.toISOString(),
  endsAt: row.ends_at?.toISOString() ?? null,
  location: row.location,
  hasImage: row.has_image,
  rsvps: row.rsvps,
});

const text = (max: number) => z.string().trim().max(max, `at most ${max} characters`);
const EVENT_FIELDS = {
  title: text(200).min(1, 'must not be empty'),
  description: text(5000),
  startsAt: z.iso.datetime({ offset: true, message: 'an ISO 8601 date-time, e.g. 2026-12-01T18:00:00Z' }),
  endsAt: z.iso.datetime({ offset: true, message: 'an ISO 8601 date-time, e.g. 2026-12-01T21:00:00Z' }).nullable(),
  location: text(200),
};
const EventInput = z
  .object({ ...EVENT_FIELDS, description: EVENT_FIELDS.description.default(''), endsAt: EVENT_FIELDS.endsAt.default(null), location: EVENT_FIELDS.location.default('') })
  .strict();
/** No defaults here: a field left out of a PATCH keeps its value. */
const EventPatch = z.object(EVENT_FIELDS).partial().strict();
const IdParams = z.object({ id: z.uuid('must be an event id (UUID)') });
const ListQuery = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
const MonthQuery = z.object({ month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'YYYY-MM, e.g. 2026-12').optional() });

/** A month's calendar: every day, with the events starting that day. */
export function monthView(month: string, events: readonly EventRecord[]) {
  const [year, monthIndex] = month.split('-').map(Number) as [number, number];
  const days = new Date(Date.UTC(year, monthIndex, 0)).getUTCDate();
  return {
    month,
    days: Array.from({ length: days }, (_, index) => {
      const date = `${month}-${String(index + 1).padStart(2, '0')}`;
      return { date, events: events.filter((event) => event.startsAt.slice(0, 10) === date).map(({ id, title, startsAt, location }) => ({ id, title, startsAt, location })) };
    }),
  };
}

export const events: StubDefinition = {
  clients: { database: createDatabase, cache: createCache, store: createStore },
  migrations: eventsMigrations,
  requires: ['postgres-primary'],
  async businessCheck(context) {
    const { rows } = await context.db!.read<EventRow>(undefined, `${SELECT_EVENTS} ORDER BY e.starts_at LIMIT 5`);
    return { listed: rows.length };
  },
  routes(app, context) {
    const db = context.db!;
    auditRefusals(app, context);
    const snapshot = createSnapshot<EventRecord[]>('events', context.cache);
    const fallbackListing = async (reason: unknown) => {
      const saved = await snapshot.load();
      const all = saved?.value ?? [];
      const now = new Date().toISOString();
      return {
        events: all.filter((event) => event.startsAt >= now),
        archive: all.filter((event) => event.startsAt < now),
        savedAt: saved?.savedAt ?? null,
        contact: EVENTS_FALLBACK.contact,
        note: EVENTS_FALLBACK.calendarNote,
        reason,
      };
    };

    app.get('/api/events', async (request, reply) => {
      const query = parseInput(ListQuery, request.query, 'query');
      const user = await context.optionalUser(request);
      try {
        const { rows, from } = await db.read<EventRow>(
          user?.id,
          `${SELECT_EVENTS} WHERE ($1::timestamptz IS NULL OR e.starts_at >= $1) AND ($2::timestamptz IS NULL OR e.starts_at < $2)
            ORDER BY e.starts_at, e.id LIMIT $3`,
          [query.from ?? null, query.to ?? null, query.limit],
        );
        const records = rows.map(toRecord);
        // Only full listings become the fallback's saved view (a `limit=1` call would shrink it).
        if (!query.from && !query.to && query.limit >= 50) await snapshot.save(records);
        return reply.header(READ_FROM_HEADER, from).send({ events: records });
      } catch (error) {
        if (!(error instanceof DependencyUnavailableError)) throw error;
        const { reason: _reason, ...body } = await fallbackListing(error);
        return context.sendFallback(reply, 'events', error, body);
      }
    });

    app.get('/api/events/:id', async (request, reply) => {
      const { id } = parseInput(IdParams, request.params, 'params');
      const user = await context.optionalUser(request);
      try {
        const { rows, from } = await db.read<EventRow>(user?.id, `${SELECT_EVENTS} WHERE e.id = $1`, [id]);
        reply.header(READ_FROM_HEADER, from);
        if (!rows[0]) throw new HttpError(404, `params.id: no event ${id}`, 'params.id');
        return reply.header(READ_FROM_HEADER, from).send(toRecord(rows[0]));
      } catch (error) {
        if (!(error instanceof DependencyUnavailableError)) throw error;
        const saved = (await snapshot.load())?.value.find((event) => event.id === id);
        return context.sendFallback(reply, 'events', error, { event: saved ?? null, contact: EVENTS_FALLBACK.contact }, saved ? 200 : 503);
      }
    });

    app.post('/api/events', async (request, reply) => {
      const user = await context.requireUser(request, 'editor');
      const input = parseInput(EventInput, request.body, 'body');
      if (input.endsAt && Date.parse(input.endsAt) < Date.parse(input.startsAt)) throw new HttpError(400, 'body.endsAt: must not be before startsAt', 'body.endsAt');
      const id = await db.write(user.id, async (client) => {
        const created = (
          await client.query<{ id: string }>(
            'INSERT INTO events.events (title, description, starts_at, ends_at, location, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
            [input.title, input.description, input.startsAt, input.endsAt, input.location, user.id],
          )
        ).rows[0]!.id;
        await insertAudit(client, request, { action: 'event.create', actor: user.id, subject: created, detail: { title: input.title, startsAt: input.startsAt } });
        return created;
      });
      return reply.code(201).header('location', `/api/events/${id}`).send({ id, ...input });
    });

    app.patch('/api/events/:id', async (request, reply) => {
      const user = await context.requireUser(request, 'editor');
      const { id } = parseInput(IdParams, request.params, 'params');
      const patch = parseInput(EventPatch, request.body, 'body');
      const columns = { title: 'title', description: 'description', startsAt: 'starts_at', endsAt: 'ends_at', location: 'location' } as const;
      const entries = Object.entries(patch).filter(([, value]) => value !== undefined) as [keyof typeof columns, unknown][];
      if (entries.length === 0) throw new HttpError(400, 'body: nothing to update (title, description, startsAt, endsAt, location)', 'body');
      // Column names come from the fixed map above; values are parameters.
      const assignments = entries.map(([key], index) => `${columns[key]} = $${index + 2}`).join(', ');
      const updated = await db.write(user.id, async (client) => {
        const count = (await client.query(`UPDATE events.events SET ${assignments}, updated_at = now() WHERE id = $1`, [id, ...entries.map(([, value]) => value)])).rowCount;
        if (count) await insertAudit(client, request, { action: 'event.update', actor: user.id, subject: id, detail: { fields: entries.map(([key]) => key) } });
        return count;
      });
      if (!updated) throw new HttpError(404, `params.id: no event ${id}`, 'params.id');
      return reply.send({ id, updated: entries.map(([key]) => key) });
    });

    app.delete('/api/events/:id', async (request, reply) => {
      const user = await context.requireUser(request, 'editor');
      const { id } = parseInput(IdParams, request.params, 'params');
      const deleted = await db.write(user.id, async (client) => {
        const count = (await client.query('DELETE FROM events.events WHERE id = $1', [id])).rowCount;
        if (count) await insertAudit(client, request, { action: 'event.delete', actor: user.id, subject: id });
        return count;
      });
      if (!deleted) throw new HttpError(404, `params.id: no event ${id}`, 'params.id');
      return reply.code(204).send();
    });

    app.get('/api/calendar', async (request, reply) => {
      const month = parseInput(MonthQuery, request.query, 'query').month ?? new Date().toISOString().slice(0, 7);
      const start = `${month}-01T00:00:00Z`;
      const [year, monthIndex] = month.split('-').map(Number) as [number, number];
      const end = new Date(Date.UTC(year, monthIndex, 1)).toISOString();
      const user = await context.optionalUser(request);
      try {
        const { rows, from } = await db.read<EventRow>(user?.id, `${SELECT_EVENTS} WHERE e.starts_at >= $1 AND e.starts_at < $2 ORDER BY e.starts_at`, [start, end]);
        return reply.header(READ_FROM_HEADER, from).send(monthView(month, rows.map(toRecord)));
      } catch (error) {
        if (!(error instanceof DependencyUnavailableError)) throw error;
        const saved = await snapshot.load();
        return context.sendFallback(reply, 'events', error, {
          ...monthView(month, saved?.value ?? []),
          savedAt: saved?.savedAt ?? null,
          contact: EVENTS_FALLBACK.contact,
          note: EVENTS_FALLBACK.calendarNote,
        });
      }
    });

    app.post('/api/events/:id/rsvp', async (request, reply) => {
      const user = await context.requireUser(request, 'member');
      const { id } = parseInput(IdParams, request.params, 'params');
      const { status } = parseInput(z.object({ status: z.enum(['going', 'interested', 'not-going']).default('going') }).strict(), request.body, 'body');
      // Idempotent per user: the primary key is (event, user); repeating the call changes nothing.
      const result = await db.write(user.id, async (client) => {
        const exists = await client.query('SELECT 1 FROM events.events WHERE id = $1', [id]);
        if (exists.rowCount === 0) throw new HttpError(404, `params.id: no event ${id}`, 'params.id');
        const upsert = await client.query<{ created: boolean }>(
          `INSERT INTO events.rsvps (event_id, user_id, status) VALUES ($1, $2, $3)
             ON CONFLICT (event_id, user_id) DO UPDATE SET status = EXCLUDED.status, updated_at = now()
             RETURNING (xmax = 0) AS created`,
          [id, user.id, status],
        );
        const going = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM events.rsvps WHERE event_id = $1 AND status = 'going'", [id]);
        return { created: upsert.rows[0]!.created, going: going.rows[0]!.n };
      });
      return reply.code(result.created ? 201 : 200).send({ eventId: id, status, going: result.going, created: result.created });
    });

    app.put('/api/events/:id/image', async (request, reply) => {
      const user = await context.requireUser(request, 'editor');
      const { id } = parseInput(IdParams, request.params, 'params');
      const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (!IMAGE_TYPES.includes(type as (typeof IMAGE_TYPES)[number])) throw new HttpError(415, `content-type: expected one of ${IMAGE_TYPES.join(', ')}`, 'content-type');
      if (!Buffer.isBuffer(request.body) || request.body.length === 0) throw new HttpError(400, 'body: expected the image bytes', 'body');
      if (!context.store) throw new HttpError(503, 'the object store is not configured in this profile (S3_ENDPOINT)');
      const exists = await db.read(user.id, 'SELECT 1 FROM events.events WHERE id = $1', [id]);
      if (exists.rows.length === 0) throw new HttpError(404, `params.id: no event ${id}`, 'params.id');
      await context.store.put(IMAGE_BUCKET, `events/${id}`, request.body, type);
      const updated = await db.write(user.id, async (client) => {
        const count = (await client.query('UPDATE events.events SET image_type = $2, updated_at = now() WHERE id = $1', [id, type])).rowCount;
        if (count) await insertAudit(client, request, { action: 'event.image', actor: user.id, subject: id, detail: { contentType: type, bytes: (request.body as Buffer).length } });
        return count;
      });
      if (!updated) throw new HttpError(404, `params.id: no event ${id}`, 'params.id');
      return reply.code(201).send({ id, image: `/api/events/${id}/image`, bytes: request.body.length });
    });

    app.get('/api/events/:id/image', async (request, reply) => {
      const { id } = parseInput(IdParams, request.params, 'params');
      if (!context.store) throw new HttpError(503, 'the object store is not configured in this profile (S3_ENDPOINT)');
      try {
        const image = await context.store.get(IMAGE_BUCKET, `events/${id}`);
        if (!image) throw new HttpError(404, `params.id: event ${id} has no image`, 'params.id');
        return reply.header('content-type', image.contentType).header('cache-control', 'public, max-age=60').send(image.body);
      } catch (error) {
        if (!(error instanceof DependencyUnavailableError)) throw error;
        context.metrics.fallbacks.inc({ fallback: 'events-image' });
        return reply.header(FALLBACK_HEADER, 'events-image').header('content-type', 'image/svg+xml').header('cache-control', 'no-store').send(PLACEHOLDER_SVG);
      }
    });
  },
};
