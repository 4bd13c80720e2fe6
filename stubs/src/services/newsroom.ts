/**
 * Newsroom: articles published by editors, categories kept by admins, comments by members,
 * attachments in the S3 store. Every editor/admin change is audited (audit.ts). With the database down it serves cached article summaries,
 * external news sources and community discussion links.
 */
import { ensureSchema } from '../runtime/migrations.js';
import { z } from 'zod';
import { READ_FROM_HEADER } from '../../../services/contracts/index.js';
import { DependencyUnavailableError } from '../runtime/breakers.js';
import { HttpError, parseInput, type StubDefinition } from '../runtime/app.js';
import { createCache } from '../runtime/cache.js';
import { createDatabase } from '../runtime/database.js';
import { createStore } from '../runtime/store.js';
import { createSnapshot } from '../runtime/snapshot.js';
import { auditRefusals, insertAudit } from './audit.js';
import { NEWSROOM_FALLBACK } from './fallbacks.js';

export interface ArticleSummary {
  id: string;
  slug: string;
  title: string;
  summary: string;
  category: string;
  author: string;
  publishedAt: string;
}

const ATTACHMENT_BUCKET = 'documents';
const ATTACHMENT_TYPES = ['application/pdf', 'image/png', 'image/jpeg', 'text/plain'] as const;

export const newsroomMigrations = [
  {
    id: 1,
    name: 'articles-categories-comments',
    sql: `
      ${ensureSchema('newsroom')}
      CREATE TABLE IF NOT EXISTS newsroom.categories (slug text PRIMARY KEY, name text NOT NULL);
      INSERT INTO newsroom.categories VALUES ('community', 'Community'), ('culture', 'Culture'), ('health', 'Health')
        ON CONFLICT (slug) DO NOTHING;
      CREATE TABLE IF NOT EXISTS newsroom.articles (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(), slug text NOT NULL UNIQUE, title text NOT NULL,
        summary text NOT NULL, body text NOT NULL, category text NOT NULL REFERENCES newsroom.categories(slug),
        author text NOT NULL, published_at timestamptz NOT NULL DEFAULT now());
      CREATE INDEX IF NOT EXISTS articles_by_date ON newsroom.articles (published_at DESC);
      CREATE TABLE IF NOT EXISTS newsroom.comments (
        id bigserial PRIMARY KEY, article_id uuid NOT NULL REFERENCES newsroom.articles(id) ON DELETE CASCADE,
        user_id text NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE IF NOT EXISTS newsroom.attachments (
        article_id uuid NOT NULL REFERENCES newsroom.articles(id) ON DELETE CASCADE, name text NOT NULL,
        content_type text NOT NULL, bytes integer NOT NULL, PRIMARY KEY (article_id, name));`,
  },
] as const;

const SELECT_SUMMARIES = 'SELECT id, slug, title, summary, category, author, published_at FROM newsroom.articles';
interface ArticleRow {
  id: string;
  slug: string;
  title: string;
  summary: string;
  category: string;
  author: string;
  published_at: Date;
  body?: string;
}
const toSummary = (row: ArticleRow): ArticleSummary => ({
  id: row.id,
  slug: row.slug,
  title: row.title,
  summary: row.summary,
  category: row.category,
  author: row.author,
  publishedAt: row.published_at.toISOString(),
});

const slugPattern = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const ArticleInput = z
  .object({
    title: z.string().trim().min(1, 'must not be empty').max(200, 'at most 200 characters'),
    slug: z.string().regex(slugPattern, 'lower-case words joined by dashes, e.g. spring-gathering').max(120).optional(),
    summary: z.string().trim().min(1, 'must not be empty').max(500, 'at most 500 characters'),
    body: z.string().trim().min(1, 'must not be empty').max(50_000, 'at most 50000 characters'),
    category: z.string().regex(slugPattern, 'a category slug (GET /api/categories)'),
  })
  .strict();
const ArticleParams = z.object({ id: z.uuid('must be an article id (UUID)') });
/** An attachment's name, which becomes the last segment of its S3 key. */
export const AttachmentName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, dot, dash, underscore')
  // A key segment of only dots is a path step to S3 clients and proxies, not a name.
  .refine((name) => !/^\.+$/.test(name), 'not only dots (".", "..")');
const AttachmentParams = ArticleParams.extend({ name: AttachmentName });

export function slugify(title: string): string {
  return title.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100) || 'article';
}

export const newsroom: StubDefinition = {
  clients: { database: createDatabase, cache: createCache, store: createStore },
  migrations: newsroomMigrations,
  requires: ['postgres-primary'],
  async businessCheck(context) {
    const { rows } = await context.db!.read<ArticleRow>(undefined, `${SELECT_SUMMARIES} ORDER BY published_at DESC LIMIT 5`);
    const categories = await context.db!.read(undefined, 'SELECT slug FROM newsroom.categories');
    if (categories.rows.length === 0) throw new Error('no categories: articles could not be published');
    return { listed: rows.length, categories: categories.rows.length };
  },
  routes(app, context) {
    const db = context.db!;
    auditRefusals(app, context);
    const snapshot = createSnapshot<ArticleSummary[]>('articles', context.cache);
    const fallbackBody = async () => {
      const saved = await snapshot.load();
      return { articles: saved?.value ?? [], savedAt: saved?.savedAt ?? null, externalSources: NEWSROOM_FALLBACK.externalSources, discussions: NEWSROOM_FALLBACK.discussions };
    };

    app.get('/api/articles', async (request, reply) => {
      const query = parseInput(z.object({ category: z.string().regex(slugPattern).optional(), limit: z.coerce.number().int().min(1).max(100).default(20) }), request.query, 'query');
      const user = await context.optionalUser(request);
      try {
        const { rows, from } = await db.read<ArticleRow>(
          user?.id,
          `${SELECT_SUMMARIES} WHERE $1::text IS NULL OR category = $1 ORDER BY published_at DESC, id LIMIT $2`,
          [query.category ?? null, query.limit],
        );
        const articles = rows.map(toSummary);
        if (!query.category && query.limit >= 20) await snapshot.save(articles);
        return reply.header(READ_FROM_HEADER, from).send({ articles });
      } catch (error) {
        if (!(error instanceof DependencyUnavailableError)) throw error;
        return context.sendFallback(reply, 'newsroom', error, await fallbackBody());
      }
    });

    app.get('/api/articles/:id', async (request, reply) => {
      const { id } = parseInput(ArticleParams, request.params, 'params');
      const user = await context.optionalUser(request);
      try {
        const { rows, from } = await db.read<ArticleRow>(user?.id, 'SELECT id, slug, title, summary, body, category, author, published_at FROM newsroom.articles WHERE id = $1', [id]);
        if (!rows[0]) throw new HttpError(404, `params.id: no article ${id}`, 'params.id');
        const attachments = await db.read<{ name: string; content_type: string; bytes: number }>(user?.id, 'SELECT name, content_type, bytes FROM newsroom.attachments WHERE article_id = $1 ORDER BY name', [id]);
        return reply.header(READ_FROM_HEADER, from).send({
          ...toSummary(rows[0]),
          body: rows[0].body,
          attachments: attachments.rows.map((row) => ({ name: row.name, contentType: row.content_type, bytes: row.bytes, url: `/api/articles/${id}/attachments/${row.name}` })),
        });
      } catch (error) {
        if (!(error instanceof DependencyUnavailableError)) throw error;
        const fallback = await fallbackBody();
        const summary = fallback.articles.find((article) => article.id === id);
        return context.sendFallback(reply, 'newsroom', error, { ...fallback, article: summary ?? null }, summary ? 200 : 503);
      }
    });

    app.post('/api/articles', async (request, reply) => {
      const user = await context.requireUser(request, 'editor');
      const input = parseInput(ArticleInput, request.body, 'body');
      const slug = input.slug ?? slugify(input.title);
      const article = await db
        .write(user.id, async (client) => {
          const category = await client.query('SELECT 1 FROM newsroom.categories WHERE slug = $1', [input.category]);
          if (category.rowCount === 0) throw new HttpError(400, `body.category: no category "${input.category}" (GET /api/categories)`, 'body.category');
          const published = (
            await client.query<ArticleRow>(
              'INSERT INTO newsroom.articles (slug, title, summary, body, category, author) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, slug, title, summary, category, author, published_at',
              [slug, input.title, input.summary, input.body, input.category, user.email || user.id],
            )
          ).rows[0]!;
          await insertAudit(client, request, { action: 'article.publish', actor: user.id, subject: published.id, detail: { slug, category: input.category } });
          return published;
        })
        .catch((error: unknown) => {
          if ((error as { code?: string }).code === '23505') throw new HttpError(409, `body.slug: an article "${slug}" already exists`, 'body.slug');
          throw error;
        });
      return reply.code(201).header('location', `/api/articles/${article.id}`).send(toSummary(article));
    });

    app.get('/api/categories', async (request, reply) => {
      try {
        const { rows, from } = await db.read<{ slug: string; name: string; articles: number }>(
          (await context.optionalUser(request))?.id,
          'SELECT c.slug, c.name, count(a.id)::int AS articles FROM newsroom.categories c LEFT JOIN newsroom.articles a ON a.category = c.slug GROUP BY c.slug, c.name ORDER BY c.slug',
        );
        return reply.header(READ_FROM_HEADER, from).send({ categories: rows });
      } catch (error) {
        if (!(error instanceof DependencyUnavailableError)) throw error;
        return context.sendFallback(reply, 'newsroom', error, { categories: [], discussions: NEWSROOM_FALLBACK.discussions });
      }
    });

    app.post('/api/categories', async (request, reply) => {
      const user = await context.requireUser(request, 'admin');
      const input = parseInput(z.object({ slug: z.string().regex(slugPattern, 'lower-case words joined by dashes').max(60), name: z.string().trim().min(1).max(80) }).strict(), request.body, 'body');
      const created = await db.write(user.id, async (client) => {
        const count = (await client.query('INSERT INTO newsroom.categories (slug, name) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING', [input.slug, input.name])).rowCount;
        // An existing slug changes nothing: nothing to record.
        if (count) await insertAudit(client, request, { action: 'category.create', actor: user.id, subject: input.slug, detail: { name: input.name } });
        return count;
      });
      return reply.code(created ? 201 : 200).send({ ...input, created: Boolean(created) });
    });

    app.get('/api/articles/:id/comments', async (request, reply) => {
      const { id } = parseInput(ArticleParams, request.params, 'params');
      const user = await context.optionalUser(request);
      const { rows, from } = await db.read<{ id: string; user_id: string; body: string; created_at: Date }>(
        user?.id,
        'SELECT id, user_id, body, created_at FROM newsroom.comments WHERE article_id = $1 ORDER BY id',
        [id],
      );
      return reply.header(READ_FROM_HEADER, from).send({ comments: rows.map((row) => ({ id: Number(row.id), user: row.user_id, text: row.body, at: row.created_at })) });
    });

    app.post('/api/articles/:id/comments', async (request, reply) => {
      const user = await context.requireUser(request, 'member');
      const { id } = parseInput(ArticleParams, request.params, 'params');
      const { text } = parseInput(z.object({ text: z.string().trim().min(1, 'must not be empty').max(2000, 'at most 2000 characters') }).strict(), request.body, 'body');
      const comment = await db
        .write(user.id, async (client) => (await client.query<{ id: string }>('INSERT INTO newsroom.comments (article_id, user_id, body) VALUES ($1, $2, $3) RETURNING id', [id, user.id, text])).rows[0]!)
        .catch((error: unknown) => {
          if ((error as { code?: string }).code === '23503') throw new HttpError(404, `params.id: no article ${id}`, 'params.id');
          throw error;
        });
      return reply.code(201).send({ id: Number(comment.id), articleId: id, text });
    });

    app.put('/api/articles/:id/attachments/:name', async (request, reply) => {
      const user = await context.requireUser(request, 'editor');
      const { id, name } = parseInput(AttachmentParams, request.params, 'params');
      const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (!ATTACHMENT_TYPES.includes(type as (typeof ATTACHMENT_TYPES)[number])) throw new HttpError(415, `content-type: expected one of ${ATTACHMENT_TYPES.join(', ')}`, 'content-type');
      const bytes = request.body;
      if (!Buffer.isBuffer(bytes) || bytes.length === 0) throw new HttpError(400, 'body: expected the attachment bytes', 'body');
      if (!context.store) throw new HttpError(503, 'the object store is not configured in this profile (S3_ENDPOINT)');
      const exists = await db.read(user.id, 'SELECT 1 FROM newsroom.articles WHERE id = $1', [id]);
      if (exists.rows.length === 0) throw new HttpError(404, `params.id: no article ${id}`, 'params.id');
      await context.store.put(ATTACHMENT_BUCKET, `articles/${id}/${name}`, bytes, type);
      await db.write(user.id, async (client) => {
        await client.query(
          `INSERT INTO newsroom.attachments (article_id, name, content_type, bytes) VALUES ($1, $2, $3, $4)
             ON CONFLICT (article_id, name) DO UPDATE SET content_type = EXCLUDED.content_type, bytes = EXCLUDED.bytes`,
          [id, name, type, bytes.length],
        );
        await insertAudit(client, request, { action: 'article.attach', actor: user.id, subject: id, detail: { name, contentType: type, bytes: bytes.length } });
      });
      return reply.code(201).send({ url: `/api/articles/${id}/attachments/${name}`, bytes: bytes.length });
    });

    app.get('/api/articles/:id/attachments/:name', async (request, reply) => {
      const { id, name } = parseInput(AttachmentParams, request.params, 'params');
      if (!context.store) throw new HttpError(503, 'the object store is not configured in this profile (S3_ENDPOINT)');
      try {
        const object = await context.store.get(ATTACHMENT_BUCKET, `articles/${id}/${name}`);
        if (!object) throw new HttpError(404, `params.name: article ${id} has no attachment "${name}"`, 'params.name');
        // Served as a download, never rendered inline: an uploaded file can't run script in the site.
        return reply.header('content-type', object.contentType).header('content-disposition', `attachment; filename="${name}"`).send(object.body);
      } catch (error) {
        if (!(error instanceof DependencyUnavailableError)) throw error;
        return context.sendFallback(reply, 'newsroom-attachment', error, { error: 'attachments are unavailable right now', ...(await fallbackBody()) }, 503);
      }
    });
  },
};
