/**
 * IVOR: the platform's AI assistant, answered deterministically from a knowledge/resource
 * table (no external AI). Conversation turns are stored in Postgres; frequent answers are
 * cached in Redis. When the database is down IVOR serves cached answers, predefined guidance
 * and community resource links, and says it is a fallback.
 */
import { ensureSchema } from '../runtime/migrations.js';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { READ_FROM_HEADER } from '../../../services/contracts/index.js';
import { DependencyUnavailableError } from '../runtime/breakers.js';
import { HttpError, parseInput, type StubContext, type StubDefinition } from '../runtime/app.js';
import { createCache } from '../runtime/cache.js';
import { createDatabase } from '../runtime/database.js';
import { IVOR_FALLBACK } from './fallbacks.js';

interface Resource {
  slug: string;
  title: string;
  url: string;
  pathway: string;
  summary: string;
}

const ANSWER_TTL_SECONDS = 3600;

const SEED: readonly (Resource & { keywords: string[] })[] = [
  { slug: 'wellbeing', title: 'Wellbeing and mental health support', url: '/resources/wellbeing', pathway: 'wellbeing', summary: 'Peer support groups and counselling referrals.', keywords: ['wellbeing', 'mental', 'health', 'anxiety', 'support', 'lonely', 'stress'] },
  { slug: 'sexual-health', title: 'Sexual health services', url: '/resources/health', pathway: 'health', summary: 'Testing, PrEP information and clinics.', keywords: ['sexual', 'health', 'prep', 'testing', 'hiv', 'clinic'] },
  { slug: 'housing', title: 'Housing advice', url: '/resources/housing', pathway: 'housing', summary: 'Help with safe housing and tenancy problems.', keywords: ['housing', 'home', 'rent', 'evicted', 'tenancy', 'homeless'] },
  { slug: 'careers', title: 'Careers and mentoring', url: '/resources/careers', pathway: 'careers', summary: 'Mentoring, CV reviews and job boards.', keywords: ['job', 'career', 'careers', 'work', 'mentor', 'cv'] },
  { slug: 'events', title: 'Community events', url: '/events', pathway: 'community', summary: 'Meet-ups, workshops and socials.', keywords: ['event', 'events', 'meet', 'social', 'community', 'hello', 'hi'] },
  { slug: 'news', title: 'Community newsroom', url: '/news', pathway: 'community', summary: 'Stories and announcements from the community.', keywords: ['news', 'story', 'stories', 'article'] },
];

export const ivorMigrations = [
  {
    id: 1,
    name: 'resources-and-conversations',
    sql: `
      ${ensureSchema('ivor')}
      CREATE TABLE IF NOT EXISTS ivor.resources (
        slug text PRIMARY KEY, title text NOT NULL, url text NOT NULL, pathway text NOT NULL,
        summary text NOT NULL, keywords text[] NOT NULL);
      CREATE TABLE IF NOT EXISTS ivor.conversations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(), user_id text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE IF NOT EXISTS ivor.turns (
        id bigserial PRIMARY KEY, conversation_id uuid NOT NULL REFERENCES ivor.conversations(id) ON DELETE CASCADE,
        speaker text NOT NULL CHECK (speaker IN ('user', 'ivor')), body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
      CREATE INDEX IF NOT EXISTS turns_by_conversation ON ivor.turns (conversation_id, id);
      CREATE INDEX IF NOT EXISTS resources_keywords ON ivor.resources USING gin (keywords);
      ${SEED.map(
        (r) =>
          `INSERT INTO ivor.resources VALUES (${[r.slug, r.title, r.url, r.pathway, r.summary].map(literal).join(', ')}, ARRAY[${r.keywords.map(literal).join(', ')}]) ON CONFLICT (slug) DO NOTHING;`,
      ).join('\n      ')}`,
  },
] as const;

/** A SQL literal for the fixed seed data above (request input is always parameterised). */
function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

const ChatBody = z.object({
  message: z.string().trim().min(1, 'must not be empty').max(2000, 'at most 2000 characters'),
  conversationId: z.uuid().optional(),
});

/** Lower-case words of 2+ letters: the matching key, and what the answer cache is keyed on. */
export function normalizeQuestion(message: string): string[] {
  return [...new Set(message.toLowerCase().match(/[a-z]{2,}/g) ?? [])].sort();
}

export function composeAnswer(words: readonly string[], matches: readonly Resource[]): string {
  if (matches.length === 0) {
    return `I don't have anything on ${words.slice(0, 3).join(', ') || 'that'} yet. ${IVOR_FALLBACK.guidance.split('. ')[1] ?? ''}`.trim();
  }
  return `Here is what I found: ${matches.map((match) => `${match.title} (${match.summary})`).join('; ')}.`;
}

async function findAnswer(context: StubContext, user: string | undefined, words: readonly string[]): Promise<{ answer: string; resources: Resource[] }> {
  const { rows } = await context.db!.read<Resource>(
    user,
    `SELECT slug, title, url, pathway, summary FROM ivor.resources
      WHERE keywords && $1::text[]
      ORDER BY cardinality(ARRAY(SELECT unnest(keywords) INTERSECT SELECT unnest($1::text[]))) DESC, slug LIMIT 3`,
    [words],
  );
  return { answer: composeAnswer(words, rows), resources: rows };
}

export const ivor: StubDefinition = {
  clients: { database: createDatabase, cache: createCache },
  migrations: ivorMigrations,
  requires: ['postgres-primary'],
  async businessCheck(context) {
    const { answer, resources } = await findAnswer(context, undefined, ['hello']);
    if (resources.length === 0) throw new Error('IVOR found no resource for "hello": the knowledge table is empty');
    return { answered: answer.length > 0 };
  },
  routes(app, context) {
    const db = context.db!;
    app.post('/api/chat', async (request, reply) => {
      const user = await context.requireUser(request, 'member');
      const body = parseInput(ChatBody, request.body, 'body');
      const words = normalizeQuestion(body.message);
      const cacheKey = `ivor:answer:${createHash('sha256').update(words.join(' ')).digest('hex').slice(0, 32)}`;
      const cachedRaw = await context.cache?.get(cacheKey).catch(() => null);
      let found: { answer: string; resources: Resource[] } | undefined = cachedRaw ? JSON.parse(cachedRaw) : undefined;
      const cached = Boolean(found);
      try {
        if (!found) {
          found = await findAnswer(context, user.id, words);
          await context.cache?.set(cacheKey, JSON.stringify(found), ANSWER_TTL_SECONDS).catch(() => {});
        }
        const answer = found;
        const conversationId = await db.write(user.id, async (client) => {
          let id = body.conversationId;
          if (id) {
            const owner = await client.query<{ user_id: string }>('SELECT user_id FROM ivor.conversations WHERE id = $1', [id]);
            if (owner.rows[0]?.user_id !== user.id) throw new HttpError(404, 'body.conversationId: no such conversation of yours', 'body.conversationId');
          } else {
            id = (await client.query<{ id: string }>('INSERT INTO ivor.conversations (user_id) VALUES ($1) RETURNING id', [user.id])).rows[0]!.id;
          }
          await client.query("INSERT INTO ivor.turns (conversation_id, speaker, body) VALUES ($1, 'user', $2), ($1, 'ivor', $3)", [id, body.message, answer.answer]);
          return id;
        });
        return reply.send({ conversationId, answer: answer.answer, resources: answer.resources, cached, stored: true });
      } catch (error) {
        if (!(error instanceof DependencyUnavailableError)) throw error;
        return context.sendFallback(reply, 'ivor', error, {
          answer: found?.answer ?? IVOR_FALLBACK.guidance,
          cached,
          guidance: IVOR_FALLBACK.guidance,
          resources: found?.resources ?? IVOR_FALLBACK.resources,
          stored: false,
        });
      }
    });

    // A member's own conversations, newest first, each with its first question.
    app.get('/api/chat', async (request, reply) => {
      const user = await context.requireUser(request, 'member');
      const { rows, from } = await db.read<{ id: string; created_at: Date; first: string | null }>(
        user.id,
        `SELECT c.id, c.created_at, (SELECT t.body FROM ivor.turns t WHERE t.conversation_id = c.id AND t.speaker = 'user' ORDER BY t.id LIMIT 1) AS first
           FROM ivor.conversations c WHERE c.user_id = $1 ORDER BY c.created_at DESC, c.id LIMIT 100`,
        [user.id],
      );
      return reply.header(READ_FROM_HEADER, from).send({ conversations: rows.map((row) => ({ id: row.id, startedAt: row.created_at, firstQuestion: row.first })) });
    });

    app.get('/api/chat/:conversationId', async (request, reply) => {
      const user = await context.requireUser(request, 'member');
      const { conversationId } = parseInput(z.object({ conversationId: z.uuid() }), request.params, 'params');
      const { rows, from } = await db.read<{ speaker: string; body: string; created_at: Date }>(
        user.id,
        `SELECT t.speaker, t.body, t.created_at FROM ivor.turns t JOIN ivor.conversations c ON c.id = t.conversation_id
          WHERE c.id = $1 AND c.user_id = $2 ORDER BY t.id`,
        [conversationId, user.id],
      );
      if (rows.length === 0) throw new HttpError(404, 'params.conversationId: no such conversation of yours', 'params.conversationId');
      return reply.header(READ_FROM_HEADER, from).send({ conversationId, turns: rows.map((row) => ({ speaker: row.speaker, text: row.body, at: row.created_at })) });
    });

    app.get('/api/resources', async (request, reply) => {
      const query = parseInput(z.object({ pathway: z.string().regex(/^[a-z-]{1,40}$/, 'lower-case letters and dashes').optional() }), request.query, 'query');
      try {
        const user = await context.optionalUser(request);
        const { rows, from } = await db.read<Resource>(
          user?.id,
          'SELECT slug, title, url, pathway, summary FROM ivor.resources WHERE $1::text IS NULL OR pathway = $1 ORDER BY pathway, slug',
          [query.pathway ?? null],
        );
        const pathways = [...new Set(rows.map((row) => row.pathway))].map((pathway) => ({ pathway, resources: rows.filter((row) => row.pathway === pathway).map((row) => row.slug) }));
        return reply.header(READ_FROM_HEADER, from).send({ resources: rows, pathways });
      } catch (error) {
        if (!(error instanceof DependencyUnavailableError)) throw error;
        return context.sendFallback(reply, 'ivor', error, { resources: IVOR_FALLBACK.resources, pathways: [], guidance: IVOR_FALLBACK.guidance });
      }
    });
  },
};
