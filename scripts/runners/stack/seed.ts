/**
 * `make seed`: the demo data set loaded through the platform's own APIs, as an editor and
 * members would (never SQL behind the services' backs), so every write goes through the same
 * validation, breakers and stores as a user's. Idempotent: what is there already is matched
 * (by e-mail, slug, event title, first question) and counted, never added twice.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';
import { readJson, writeFileAtomic } from '../core/state.js';
import { platformAdmin } from '../clients/platform.js';
import { createClient } from '../core/http.js';
import { engineOf } from '../clients/engine-of.js';
import { type ComposeTarget } from '../clients/engine.js';
import { ParityError, UnexpectedResponseError } from '../../../services/errors.js';
import { demoDataset, type DemoAccount, type DemoDataset } from '../../../services/demo/dataset.js';
import type { HttpClient } from '../core/http.js';
import type { Progress } from '../core/progress.js';

export type SeedApi = 'auth' | 'events' | 'newsroom' | 'ivor';
export const SEED_KINDS = ['accounts', 'categories', 'articles', 'comments', 'attachments', 'events', 'images', 'rsvps', 'conversations'] as const;
export type SeedKind = (typeof SEED_KINDS)[number];
export type SeedCounts = Record<SeedKind, { created: number; existing: number }>;

export interface SeedOptions {
  /** Each API's base URL; through Traefik they are all the same origin. */
  readonly urls: Readonly<Record<SeedApi, string>>;
  readonly http: HttpClient;
  /** The admin account auth creates at start (it makes the demo editor an editor). */
  readonly admin: { readonly email: string; readonly password: string };
  /** Each demo account's password, by e-mail. */
  readonly passwords: Readonly<Record<string, string>>;
  readonly progress: Progress;
  /** Dates are placed from this day's month on. @default now */
  readonly today?: Date;
}

/** A demo account exists with another password than this state directory's (another checkout seeded it). */
export class DemoAccountError extends ParityError {
  readonly exitCode = 1;
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

type Call = (api: SeedApi, method: string, path: string, options?: { token?: string; body?: unknown; bytes?: Buffer; type?: string; expect?: readonly number[] }) => Promise<Answer>;

function caller(http: HttpClient, urls: Readonly<Record<SeedApi, string>>): Call {
  return async (api, method, path, call = {}) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (call.token) headers.authorization = `Bearer ${call.token}`;
    const body = call.bytes ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
    if (body !== undefined) headers['content-type'] = call.type ?? 'application/json';
    const result = await http(`${urls[api]}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const expected = call.expect ?? [200, 201];
    if (!expected.includes(result.status)) throw new UnexpectedResponseError(`seeding: ${method} ${path}`, expected[0]!, result.status, result.body);
    let parsed: Record<string, unknown> = {};
    try {
      parsed = result.body ? (JSON.parse(result.body) as Record<string, unknown>) : {};
    } catch {
      // Non-JSON answers (204) carry nothing the seed reads.
    }
    return { status: result.status, body: parsed };
  };
}

/** Load the demo data set; returns what was created and what was there already, per kind. */
export async function seedDemo(options: SeedOptions): Promise<SeedCounts> {
  const data = demoDataset(options.today ?? new Date());
  const call = caller(options.http, options.urls);
  const counts = Object.fromEntries(SEED_KINDS.map((kind) => [kind, { created: 0, existing: 0 }])) as SeedCounts;
  const count = (kind: SeedKind, created: boolean) => (counts[kind][created ? 'created' : 'existing'] += 1);
  const { progress } = options;

  progress.step('seeding: accounts');
  const admin = await login(call, options.admin.email, options.admin.password, '.parity/secrets/admin_password');
  const tokens: Record<string, string> = {};
  for (const account of data.accounts) tokens[account.email] = await ensureAccount(call, account, options.passwords, admin, count);
  const editor = tokens[data.accounts.find((account) => account.role === 'editor')!.email]!;

  progress.step('seeding: categories and articles');
  for (const category of data.categories) count('categories', (await call('newsroom', 'POST', '/api/categories', { token: admin, body: category })).status === 201);
  await seedArticles(call, data, editor, tokens, count);

  progress.step('seeding: events, images and RSVPs');
  await seedEvents(call, data, editor, tokens, count);

  progress.step('seeding: IVOR conversations');
  for (const conversation of data.conversations) {
    const token = tokens[conversation.by]!;
    const mine = (await call('ivor', 'GET', '/api/chat', { token })).body.conversations as { firstQuestion: string | null }[];
    if (mine.some((existing) => existing.firstQuestion === conversation.questions[0])) {
      count('conversations', false);
      continue;
    }
    let conversationId: string | undefined;
    for (const message of conversation.questions) {
      conversationId = (await call('ivor', 'POST', '/api/chat', { token, body: { message, ...(conversationId ? { conversationId } : {}) } })).body.conversationId as string;
    }
    count('conversations', true);
  }
  progress.done();
  return counts;
}

type Count = (kind: SeedKind, created: boolean) => void;

/** Log in; `passwordFile` names where the password came from, for the error when it is refused. */
async function login(call: Call, email: string, password: string, passwordFile = `.parity/secrets/${DEMO_PASSWORDS_FILE}`): Promise<string> {
  const answer = await call('auth', 'POST', '/auth/login', { body: { email, password }, expect: [200, 401] });
  if (answer.status === 401) {
    throw new DemoAccountError(
      `seeding: ${email} exists but refuses this state directory's password (${passwordFile}): ` +
        'it was set by another state directory. Restore that one, or `make clean` and seed again.',
    );
  }
  return answer.body.accessToken as string;
}

async function ensureAccount(call: Call, account: DemoAccount, passwords: Readonly<Record<string, string>>, admin: string, count: Count): Promise<string> {
  const password = passwords[account.email];
  if (!password) throw new DemoAccountError(`seeding: no password for the demo account ${account.email}`);
  const registered = await call('auth', 'POST', '/auth/register', { body: { email: account.email, password, displayName: account.displayName }, expect: [201, 409] });
  count('accounts', registered.status === 201);
  // A role takes effect at the next login: set it first (idempotent), then log in.
  if (account.role !== 'member') await call('auth', 'PUT', `/auth/users/${encodeURIComponent(account.email)}/role`, { token: admin, body: { role: account.role } });
  return login(call, account.email, password);
}

async function seedArticles(call: Call, data: DemoDataset, editor: string, tokens: Record<string, string>, count: Count): Promise<void> {
  for (const article of data.articles) {
    const { comments, attachment, ...input } = article;
    const posted = await call('newsroom', 'POST', '/api/articles', { token: editor, body: input, expect: [201, 409] });
    count('articles', posted.status === 201);
    // Read as the editor who wrote it: the primary, so a just-published article is there.
    const id = posted.status === 201 ? (posted.body.id as string) : await articleId(call, editor, article.category, article.slug);
    if (attachment) {
      const detail = (await call('newsroom', 'GET', `/api/articles/${id}`, { token: editor })).body as { attachments?: { name: string }[] };
      const present = detail.attachments?.some((existing) => existing.name === attachment.name) ?? false;
      if (!present) await call('newsroom', 'PUT', `/api/articles/${id}/attachments/${attachment.name}`, { token: editor, bytes: Buffer.from(attachment.text), type: 'text/plain' });
      count('attachments', !present);
    }
    const existing = (await call('newsroom', 'GET', `/api/articles/${id}/comments`, { token: editor })).body.comments as { text: string }[];
    for (const comment of comments) {
      const present = existing.some((other) => other.text === comment.text);
      if (!present) await call('newsroom', 'POST', `/api/articles/${id}/comments`, { token: tokens[comment.by]!, body: { text: comment.text } });
      count('comments', !present);
    }
  }
}

async function articleId(call: Call, token: string, category: string, slug: string): Promise<string> {
  const listed = (await call('newsroom', 'GET', `/api/articles?category=${category}&limit=100`, { token })).body.articles as { id: string; slug: string }[];
  const found = listed.find((article) => article.slug === slug);
  if (!found) throw new UnexpectedResponseError(`seeding: the article "${slug}" answered 409 (exists) but is not listed in ${category}`, 200, 404, '');
  return found.id;
}

async function seedEvents(call: Call, data: DemoDataset, editor: string, tokens: Record<string, string>, count: Count): Promise<void> {
  const existing = await allEvents(call, editor);
  for (const event of data.events) {
    const { imageRgb, going, ...input } = event;
    let found = existing.find((other) => other.title === event.title);
    count('events', !found);
    if (!found) {
      const created = await call('events', 'POST', '/api/events', { token: editor, body: input });
      found = { id: created.body.id as string, title: event.title, hasImage: false };
    }
    if (!found.hasImage) await call('events', 'PUT', `/api/events/${found.id}/image`, { token: editor, bytes: solidPng(imageRgb), type: 'image/png' });
    count('images', !found.hasImage);
    for (const email of going) {
      const answer = await call('events', 'POST', `/api/events/${found.id}/rsvp`, { token: tokens[email]!, body: { status: 'going' } });
      count('rsvps', answer.status === 201);
    }
  }
}

/** Every event, paged by start time (the API returns at most 200 at a time). */
async function allEvents(call: Call, token: string): Promise<{ id: string; title: string; hasImage: boolean }[]> {
  const seen = new Map<string, { id: string; title: string; hasImage: boolean }>();
  let from = '1970-01-01T00:00:00Z';
  for (;;) {
    const page = (await call('events', 'GET', `/api/events?limit=200&from=${encodeURIComponent(from)}`, { token })).body.events as { id: string; title: string; hasImage: boolean; startsAt: string }[];
    const before = seen.size;
    for (const event of page) seen.set(event.id, event);
    if (page.length < 200 || seen.size === before) return [...seen.values()];
    from = page.at(-1)!.startsAt;
  }
}

/** A small PNG of one colour (16:9): each demo event's image, drawn here so no file is shipped. */
export function solidPng([red, green, blue]: readonly [number, number, number], width = 64, height = 36): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => [red, green, blue]).flat())]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

/**
 * The demo accounts' passwords for this state directory: generated once (random, so a stack
 * published beyond this machine has no well-known password), kept beside the other secrets
 * (0600), and returned with `created` so the caller prints them the one time they are new.
 */
export async function ensureDemoPasswords(stateDir: string, accounts: readonly DemoAccount[]): Promise<{ file: string; passwords: Record<string, string>; created: boolean }> {
  const file = join(stateDir, 'secrets', DEMO_PASSWORDS_FILE);
  const known = await readJson<Record<string, string>>(file, {});
  const missing = accounts.filter((account) => !known[account.email]);
  if (missing.length === 0) return { file, passwords: known, created: false };
  const passwords = { ...known, ...Object.fromEntries(missing.map((account) => [account.email, `demo-${randomBytes(9).toString('base64url')}`])) };
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${JSON.stringify(passwords, null, 2)}\n`);
  await chmod(file, 0o600);
  return { file, passwords, created: true };
}

export const DEMO_PASSWORDS_FILE = 'demo_accounts.json';

/** True when the platform has neither events nor articles: a first start, worth seeding. */
export async function platformIsEmpty(http: HttpClient, urls: Readonly<Record<SeedApi, string>>): Promise<boolean> {
  const call = caller(http, urls);
  const events = (await call('events', 'GET', '/api/events?limit=1&from=1970-01-01T00:00:00Z')).body.events as unknown[];
  const articles = (await call('newsroom', 'GET', '/api/articles?limit=1')).body.articles as unknown[];
  return events.length === 0 && articles.length === 0;
}

/** One line per kind: `events 32 created, 0 there already`. */
export function describeCounts(counts: SeedCounts): string {
  return SEED_KINDS.map((kind) => `${kind} ${counts[kind].created} new${counts[kind].existing ? ` (${counts[kind].existing} there already)` : ''}`).join(', ');
}

export interface StackSeedResult {
  /** Undefined when the platform had data and `onlyIfEmpty` was asked. */
  readonly counts?: SeedCounts;
  readonly accounts: readonly DemoAccount[];
  readonly passwordsFile: string;
  /** The passwords, when they were generated by this run (print them once). */
  readonly newPasswords?: Readonly<Record<string, string>>;
}

/** Seed the running stack through Traefik (one origin for every API), as `make seed` and `make up` do. */
export async function seedStack(target: ComposeTarget, progress: Progress, options: { readonly onlyIfEmpty?: boolean } = {}): Promise<StackSeedResult> {
  const origin = await engineOf(target).httpsEndpoint();
  const urls = { auth: origin, events: origin, newsroom: origin, ivor: origin };
  const http = createClient(join(target.stateDir, 'ca', 'parity-ca.pem'));
  const { accounts } = demoDataset(new Date());
  const passwordsFile = join(target.stateDir, 'secrets', DEMO_PASSWORDS_FILE);
  if (options.onlyIfEmpty && !(await platformIsEmpty(http, urls))) {
    // Data there already: show the demo accounts only if this state directory ever seeded them.
    const seededBefore = Object.keys(await readJson<Record<string, string>>(passwordsFile, {})).length > 0;
    return { accounts: seededBefore ? accounts : [], passwordsFile };
  }
  const { file, passwords, created } = await ensureDemoPasswords(target.stateDir, accounts);
  const admin = await platformAdmin(target.stateDir);
  const counts = await seedDemo({ urls, http, admin, passwords, progress });
  return { counts, accounts, passwordsFile: file, ...(created ? { newPasswords: passwords } : {}) };
}

/** The closing lines of `make up` / `make seed`: the demo accounts, and their passwords once. */
export function describeAccounts(result: StackSeedResult): string {
  if (result.accounts.length === 0) return '  demo data: not loaded (the platform already had data); make seed loads it';
  const lines = result.accounts.map((account) => `    ${account.email.padEnd(32)} ${account.role.padEnd(7)} ${result.newPasswords?.[account.email] ?? ''}`.trimEnd());
  const where = result.newPasswords ? `passwords shown once; kept in ${result.passwordsFile}` : `passwords in ${result.passwordsFile}`;
  return `  demo accounts (${where}):\n${lines.join('\n')}`;
}
