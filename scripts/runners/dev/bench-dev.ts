/**
 * `make bench-dev`: edit → new code answering users through the edge, for live sync. A stack of
 * its own (profile minimal, its own ports, project parity-bench-dev) runs the example Events API
 * built from a copy of its source (`source: build`), `make dev`'s watch follows it, and the bench
 * edits the copy: `app.py` under a sync+restart rule (its MARK, answered as X-Example-Mark) and
 * `build.txt` under a rebuild rule (baked into the image, answered as X-Example-Build). Each edit
 * is timed from the write to the first users' answer through the front that carries the new value.
 */
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TimeoutError } from '../../../services/errors.js';
import { createClient, userAddresses } from '../core/http.js';
import type { Progress } from '../core/progress.js';
import { repoRoot, statePath } from '../core/state.js';
import type { ComposeTarget } from '../clients/engine.js';
import { loadConfig } from '../gen/gen.js';
import { downStack, upStack } from '../stack/stack.js';
import { contractGate, gateCandidates, type GateCandidate } from './contract-gate.js';
import { EXAMPLES } from './example.js';
import { watchService } from './dev-watch.js';

const PORTS = { http: 48080, https: 48443, dashboard: 48081, postgres: 48432, postgresReplica: 48433, redis: 48379 } as const;

export interface DevBenchResult {
  readonly mode: 'sync+restart' | 'rebuild';
  readonly samplesMs: readonly number[];
  readonly medianMs: number;
  readonly worstMs: number;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : Math.round((sorted[middle - 1]! + sorted[middle]!) / 2);
};

/** The bench's config: the example built from `events-python/` beside it, synced and rebuilt by watch rules. */
export const benchConfigYaml = (): string =>
  [
    'profile: minimal',
    'ports:',
    ...Object.entries(PORTS).map(([key, port]) => `  ${key}: ${port}`),
    'services:',
    '  events:',
    '    source: build',
    `    port: ${EXAMPLES['events-python'].port}`,
    '    build:',
    '      context: events-python',
    '      watch:',
    '        - { path: app.py, action: sync+restart, target: /app/app.py }',
    '        - { path: build.txt, action: rebuild }',
    '',
  ].join('\n');

export async function benchDev(options: { readonly edits: number; readonly progress: Progress; readonly say: (line: string) => void; readonly signal?: AbortSignal }): Promise<DevBenchResult[]> {
  const { progress, say } = options;
  const work = statePath(`bench-dev-${process.pid}`);
  const source = join(work, 'events-python');
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  await cp(join(repoRoot, EXAMPLES['events-python'].dir), source, { recursive: true });
  await writeFile(join(work, 'parity.yaml'), benchConfigYaml());
  const target: ComposeTarget = { project: 'parity-bench-dev', composeDir: join(work, 'compose'), stateDir: join(work, 'state'), environment: { PARITY_CONFIG_DIR: work } };
  const watching = new AbortController();
  const stopWatching = () => watching.abort();
  options.signal?.addEventListener('abort', stopWatching, { once: true });
  let watch: Promise<number> | undefined;
  try {
    const config = await loadConfig(join(work, 'parity.yaml'));
    const up = await upStack(config, target, progress, 600_000, { gate: contractGate(config, target.stateDir, progress, options.signal) });
    say(`stack up (${(up.totalMs / 1000).toFixed(1)} s, the example built from ${source})`);
    let ready!: () => void;
    const watchingNow = new Promise<void>((resolve) => (ready = resolve));
    const watchLines: string[] = [];
    // make dev's own watch, rebuilds held to the contract (a new build's first answer includes it).
    const gate = { config, configDir: work, check: (candidate: GateCandidate) => gateCandidates([candidate], config, target.stateDir, progress, watching.signal).then(() => undefined) };
    watch = watchService(target, 'events', progress, (line) => {
      watchLines.push(line);
      if (/watching for changes/.test(line)) ready();
    }, watching.signal, gate);
    await watchingNow;
    const http = createClient(join(target.stateDir, 'ca', 'parity-ca.pem'), { sources: userAddresses(250, 60) });
    const url = `https://localhost:${PORTS.https}/api/events?limit=1`;
    /** From the edit to the first answer through the front whose `header` is `value`. */
    const timeEdit = async (edit: () => Promise<void>, header: string, value: string, timeoutMs: number): Promise<number> => {
      const started = performance.now();
      await edit();
      let last = 'no answer yet';
      for (;;) {
        if (options.signal?.aborted) throw new Error('interrupted');
        const answer = await http(url, { timeoutMs: 5000 }).catch((error: Error) => (last = `no answer (${error.message})`, undefined));
        if (answer) last = `HTTP ${answer.status}, ${header}: ${String(answer.headers[header])}`;
        if (answer?.headers[header] === value) return Math.round(performance.now() - started);
        if (performance.now() - started > timeoutMs) {
          throw new TimeoutError(`bench-dev: ${header}: ${value} never reached the edge within ${timeoutMs / 1000} s (last: ${last}; the watch said: ${watchLines.slice(-5).join(' | ') || 'nothing'})`, timeoutMs);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const results: DevBenchResult[] = [];
    const app = join(source, 'app.py');
    const original = await readFile(app, 'utf8');
    const runs: [DevBenchResult['mode'], (i: number) => Promise<void>, string, (i: number) => string, number][] = [
      ['sync+restart', (i) => writeFile(app, original.replace(/^MARK = ".*"$/m, `MARK = "s${i}"`)), 'x-example-mark', (i) => `s${i}`, 60_000],
      ['rebuild', (i) => writeFile(join(source, 'build.txt'), `b${i}\n`), 'x-example-build', (i) => `b${i}`, 300_000],
    ];
    for (const [mode, edit, header, value, timeoutMs] of runs) {
      const samples: number[] = [];
      // A rebuild waits for the platform contract on the new image (~30-45 s each): 3 are enough to show it.
      const edits = mode === 'rebuild' ? Math.min(options.edits, 3) : options.edits;
      for (let i = 1; i <= edits; i++) {
        const ms = await timeEdit(() => edit(i), header, value(i), timeoutMs);
        samples.push(ms);
        say(`${mode} edit ${i}/${edits}: ${(ms / 1000).toFixed(2)} s to the edge`);
        // Let the other color's restart finish before the next edit.
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
      results.push({ mode, samplesMs: samples, medianMs: median(samples), worstMs: Math.max(...samples) });
    }
    return results;
  } finally {
    watching.abort();
    await watch?.catch(() => undefined);
    options.signal?.removeEventListener('abort', stopWatching);
    await downStack(target, true).catch((error: Error) => progress.info(`could not remove the bench's stack: ${error.message} (docker compose -p parity-bench-dev down -v)`));
    await rm(work, { recursive: true, force: true });
    say('removed the bench stack (containers, networks, volumes) and its copy of the example');
  }
}
