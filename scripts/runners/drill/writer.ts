/**
 * The drill's database writer: sequence-numbered INSERTs through `postgres-writer` at a steady
 * rate, each acknowledgement recorded client-side. After the drill, the acknowledged numbers
 * are looked up on whichever node leads: an acknowledged number that is missing is a lost write.
 */
import type pg from 'pg';
import { databaseEndpoints } from '../../../services/config/profiles.js';
import type { ParityConfig } from '../../../services/config/schema.js';
import type { Sample } from '../../../services/drills/model.js';
import { DrillInputError } from '../../../services/errors.js';
import { adminOnWriter, connectPg, queryPg, type PgLogin } from '../clients/postgres.js';
import type { ComposeTarget } from '../clients/engine.js';

/** The admin's login on the write endpoint, for a drill's writes; bad input (nothing changed) when the stack publishes none. */
export async function drillWriter(target: ComposeTarget, config: ParityConfig): Promise<PgLogin> {
  const writer = await adminOnWriter(target, config);
  if (!writer) throw new DrillInputError(`${databaseEndpoints(config).writer} publishes no port in project ${target.project}: is the stack up? (make up)`);
  return writer;
}

export interface WriterOptions {
  readonly target: PgLogin;
  /** Inserts per second. @default 20 */
  readonly ratePerSecond?: number;
  /** Identifies this drill's rows. */
  readonly run: string;
  /** Drill clock: milliseconds since the drill started. */
  readonly now: () => number;
  readonly onSample: (sample: Sample) => void;
}

export interface StartedWriter {
  /** Sequence numbers the database acknowledged (COMMIT returned). */
  readonly acked: ReadonlySet<number>;
  /** Stop writing; resolves when the last insert has settled. */
  stop(): Promise<void>;
}

export const DRILL_TABLE = 'parity_drill.writes';

/** The table the writer inserts into (idempotent). */
export async function ensureWriterTable(target: PgLogin): Promise<void> {
  await queryPg(target, `CREATE SCHEMA IF NOT EXISTS parity_drill;
    CREATE TABLE IF NOT EXISTS ${DRILL_TABLE} (run text NOT NULL, seq integer NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (run, seq))`);
}

/**
 * Start inserting. One connection at a time, reopened after any error, with short timeouts:
 * during a failover each attempt fails fast and the next one finds the new leader.
 */
export function startWriter(options: WriterOptions): StartedWriter {
  const acked = new Set<number>();
  const intervalMs = 1000 / (options.ratePerSecond ?? 20);
  let stopped = false;
  let client: pg.Client | undefined;
  const connect = () => connectPg(options.target, { connectionTimeoutMillis: 1000, statement_timeout: 2000, query_timeout: 2500 });
  const loop = (async () => {
    let seq = 0;
    let next = Date.now();
    while (!stopped) {
      seq += 1;
      const startedAt = options.now();
      try {
        client ??= await connect();
        await client.query(`INSERT INTO ${DRILL_TABLE} (run, seq) VALUES ($1, $2)`, [options.run, seq]);
        acked.add(seq);
        options.onSample({ atMs: startedAt, lane: 'write', outcome: 'ok', latencyMs: options.now() - startedAt, seq });
      } catch (error) {
        options.onSample({ atMs: startedAt, lane: 'write', outcome: 'failed', latencyMs: options.now() - startedAt, seq, detail: (error as Error).message.slice(0, 120) });
        await client?.end().catch(() => {});
        client = undefined;
      }
      next += intervalMs;
      const wait = next - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      else next = Date.now();
    }
    await client?.end().catch(() => {});
  })();
  return {
    acked,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** Acknowledged sequence numbers that are not in the table now (read through the writer endpoint). */
export async function findLostWrites(target: PgLogin, run: string, acked: ReadonlySet<number>): Promise<number[]> {
  const present = new Set((await queryPg<{ seq: number }>(target, `SELECT seq FROM ${DRILL_TABLE} WHERE run = $1`, [run])).map((row) => row.seq));
  return [...acked].filter((seq) => !present.has(seq)).sort((a, b) => a - b);
}

/** Remove the events the drill's users created through the API (their titles start with the run's tag). */
export async function removeDrillEvents(target: PgLogin, run: string): Promise<void> {
  // The events schema exists once the events service has migrated; a stack without it has nothing to remove.
  await queryPg(target, `DO $$ BEGIN IF to_regclass('events.events') IS NOT NULL THEN DELETE FROM events.events WHERE title LIKE ${pgLiteral(`${run} #%`)}; END IF; END $$`);
}

const pgLiteral = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** Remove this run's rows (the drill leaves the database as it found it, but for its table). */
export async function removeWriterRows(target: PgLogin, run: string): Promise<void> {
  await queryPg(target, `DELETE FROM ${DRILL_TABLE} WHERE run = $1`, [run]);
}

/** Remove a chaos drill's fixture article (its comments and attachment rows go with it). */
export async function removeChaosArticles(target: PgLogin, slug: string): Promise<void> {
  await queryPg(target, `DO $$ BEGIN IF to_regclass('newsroom.articles') IS NOT NULL THEN DELETE FROM newsroom.articles WHERE slug = ${pgLiteral(slug)}; END IF; END $$`);
}
