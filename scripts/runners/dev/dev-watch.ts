/**
 * `make dev SERVICE=events`: the stack up with the service built from the developer's source, then
 * `docker compose watch` on both of its colors in the foreground — each change synced (or synced
 * and the container restarted, or the image rebuilt) as `services.<name>.build.watch` says — with one
 * quiet line per change.
 */
import { statSync, watch } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { AppService, ParityConfig, WatchRule } from '../../../services/config/schema.js';
import { ContractFailedError, UsageError } from '../../../services/errors.js';
import { renderWatchOverride } from '../../../services/render/compose.js';
import { buildTopology } from '../../../services/topology/index.js';
import { buildTag, ownBuild } from '../../../services/topology/own-services.js';
import { engineOf } from '../clients/engine-of.js';
import type { ComposeTarget } from '../clients/engine.js';
import { forgetStubAddresses } from '../clients/stub-http.js';
import type { Progress } from '../core/progress.js';
import { writeFileAtomic } from '../core/state.js';
import type { GateCandidate } from './contract-gate.js';
import { parseDevEnvRequest } from './dev-env.js';

/** The service to watch, or a UsageError (exit 2) saying what parity.yaml must say first. */
export function parseDevRequest(service: string | undefined, config: ParityConfig, configFile: string): AppService {
  const { service: app } = parseDevEnvRequest(service, undefined);
  const build = ownBuild(config, app)?.build;
  if (!build) throw new UsageError(`make dev SERVICE=${app}: ${configFile} has no build for it; set services.${app}.source: build with build.context (and build.watch rules) — see docs/own-services.md`);
  if (!build.watch?.length) throw new UsageError(`make dev SERVICE=${app}: services.${app}.build has no watch rules; add build.watch (sync, sync+restart or rebuild) — see docs/own-services.md`);
  return app;
}

/** What compose watch says, as one of our lines (undefined: keep quiet). */
export function describeWatchLine(line: string): string | undefined {
  const text = line.replace(/\x1b\[[0-9;]*m/g, '').trim(); // eslint-disable-line no-control-regex -- colour codes
  if (/^Watch enabled/.test(text)) return 'watching for changes (Ctrl-C stops watching; the stack stays up)';
  const sync = /^Syncing service "([^"]+)" after (\d+) changes? (?:were|was) detected/.exec(text);
  if (sync) return `${sync[1]}: synced ${sync[2]} change${sync[2] === '1' ? '' : 's'}`;
  const rebuild = /^Rebuilding service\(s\) \["?([^\]"]+)"?\] after changes were detected/.exec(text);
  if (rebuild) return `${rebuild[1]}: rebuilding`;
  if (/^service\(s\) .* successfully built/.test(text) || /^Restarting\b|restarted$/.test(text)) return text;
  if (/error|failed/i.test(text)) return `compose: ${text}`;
  return undefined;
}

/** What gates a rebuild in `make dev`: the config, where parity.yaml is, and the contract gate (dev/contract-gate.ts). */
export interface RebuildGate {
  readonly config: ParityConfig;
  /** parity.yaml's folder: build contexts and watch paths are relative to it. */
  readonly configDir: string;
  /** Resolves when the build may be routed; throws ContractFailedError when it may not. Aborting ends a contract run in flight (its stack removed). */
  readonly check: (candidate: GateCandidate, signal?: AbortSignal) => Promise<void>;
}

/**
 * Watch until Ctrl-C or SIGTERM (which stop the watch, never the stack); resolves with compose
 * watch's exit code. `say` gets one line per change (`make bench-dev` measures edit → edge).
 *
 * With a `gate`, the rebuild rules are Parity's, not compose's: compose watches the sync rules
 * only (an `!override` of both colors' develop.watch), and a change under a rebuild rule builds the
 * image, runs the platform contract on it (dev/contract-gate.ts), and only when it passes
 * recreates both colors on it. Until then, and when it fails, the edge keeps serving the previous build.
 */
export async function watchService(target: ComposeTarget, app: AppService, progress: Progress, say: (line: string) => void, signal?: AbortSignal, gate?: RebuildGate): Promise<number> {
  const services = [`${app}-blue`, `${app}-green`];
  const startedAt = Date.now();
  const stopping = new AbortController();
  const stop = () => stopping.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  signal?.addEventListener('abort', stop, { once: true });
  const tell = (line: string) => say(`${new Date().toISOString().slice(11, 19)}  ${line}`);
  const rebuildRules = gate ? (ownBuild(gate.config, app)?.build.watch ?? []).filter((rule) => rule.action === 'rebuild') : [];
  let closeRebuilds: (() => void) | undefined;
  try {
    let overrideFile: string | undefined;
    if (gate && rebuildRules.length) {
      const override = renderWatchOverride(buildTopology(gate.config).services.filter((service) => services.includes(service.name)));
      if (override) await writeFileAtomic((overrideFile = join(target.stateDir, 'dev', `${app}-watch.override.yaml`)), override);
      closeRebuilds = watchRebuilds(target, app, services, gate, rebuildRules, tell, stopping.signal);
      if (!override) {
        // Nothing left for compose to watch: Parity's rebuilds alone, until Ctrl-C.
        tell('watching for changes (Ctrl-C stops watching; the stack stays up)');
        await new Promise<void>((resolve) => (stopping.signal.aborted ? resolve() : stopping.signal.addEventListener('abort', () => resolve(), { once: true })));
        return 0;
      }
    }
    return await engineOf(target).watch(
      services,
      (line) => {
        const described = describeWatchLine(line);
        if (described) tell(described);
      },
      stopping.signal,
      overrideFile ? { overrideFile } : {},
    );
  } finally {
    closeRebuilds?.();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    signal?.removeEventListener('abort', stop);
    progress.info(`stopped watching ${app} after ${((Date.now() - startedAt) / 1000).toFixed(0)} s; the stack is still up (make down stops it)`);
  }
}

/** Debounce like compose's watch: the last change, then this quiet time, starts a rebuild. */
const REBUILD_QUIET_MS = 500;

/**
 * Parity's side of the rebuild rules: each rule's path watched (a folder recursively), a change
 * not under one of its `ignore` paths schedules a gated rebuild; rebuilds never overlap (a change
 * during one asks for one more). Returns what stops watching.
 */
function watchRebuilds(
  target: ComposeTarget,
  app: AppService,
  services: readonly string[],
  gate: RebuildGate,
  rules: readonly WatchRule[],
  tell: (line: string) => void,
  signal: AbortSignal,
): () => void {
  const context = join(gate.configDir, ownBuild(gate.config, app)!.build.context);
  const engine = engineOf(target);
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  const rebuildOnce = async () => {
    const started = Date.now();
    const took = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
    tell(`${app}: rebuilding; the platform contract judges the new build before the edge routes to it`);
    try {
      await engine.build([services[0]!]);
      await gate.check({ service: app, image: buildTag(app) }, signal);
      await engine.up(services, { noDeps: true });
      forgetStubAddresses(target, services);
      tell(`${app}: rebuilt, passed the contract, and both colors run it (${took()})`);
    } catch (error) {
      if (signal.aborted) return;
      tell(
        error instanceof ContractFailedError
          ? `${app}: the new build fails the platform contract; the edge keeps serving the previous build (${took()}): ${error.message.replace(/^contract gate: /, '')}`
          : `${app}: the rebuild failed; the previous build keeps serving (${took()}): ${(error as Error).message.split('\n')[0]}`,
      );
    }
  };
  const run = async () => {
    if (running) return void (again = true);
    running = true;
    try {
      do {
        again = false;
        await rebuildOnce();
      } while (again && !signal.aborted);
    } finally {
      running = false;
    }
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void run(), REBUILD_QUIET_MS);
  };
  const watchers = rules.map((rule) => {
    const path = join(context, rule.path);
    const ignored = (rule.ignore ?? []).map((prefix) => prefix.replace(/\/$/, ''));
    // A file is watched through its folder: editors that save by replacing the file (write a copy,
    // rename it over) would leave a watch on the old file deaf.
    if (!statSync(path).isDirectory()) return watch(dirname(path), (_event, name) => void (String(name ?? '') === basename(path) && schedule()));
    return watch(path, { recursive: true }, (_event, name) => {
      const changed = name ? String(name) : '';
      if (!ignored.some((prefix) => changed === prefix || changed.startsWith(`${prefix}/`))) schedule();
    });
  });
  return () => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}
