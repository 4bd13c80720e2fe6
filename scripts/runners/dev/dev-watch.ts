/**
 * `make dev SERVICE=events`: the stack up with the service built from the developer's source, then
 * `docker compose watch` on both of its colors in the foreground — each change synced (or synced
 * and the container restarted, or the image rebuilt) as `services.<name>.build.watch` says — with one
 * quiet line per change.
 */
import type { AppService, ParityConfig } from '../../../services/config/schema.js';
import { UsageError } from '../../../services/errors.js';
import { ownBuild } from '../../../services/topology/own-services.js';
import { engineOf } from '../clients/engine-of.js';
import type { ComposeTarget } from '../clients/engine.js';
import type { Progress } from '../core/progress.js';
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

/**
 * Watch until Ctrl-C or SIGTERM (which stop the watch, never the stack); resolves with compose
 * watch's exit code. `say` gets one line per change (`make bench-dev` measures edit → edge).
 */
export async function watchService(target: ComposeTarget, app: AppService, progress: Progress, say: (line: string) => void, signal?: AbortSignal): Promise<number> {
  const services = [`${app}-blue`, `${app}-green`];
  const startedAt = Date.now();
  const stopping = new AbortController();
  const stop = () => stopping.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  signal?.addEventListener('abort', stop, { once: true });
  try {
    return await engineOf(target).watch(
      services,
      (line) => {
        const described = describeWatchLine(line);
        if (described) say(`${new Date().toISOString().slice(11, 19)}  ${described}`);
      },
      stopping.signal,
    );
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    signal?.removeEventListener('abort', stop);
    progress.info(`stopped watching ${app} after ${((Date.now() - startedAt) / 1000).toFixed(0)} s; the stack is still up (make down stops it)`);
  }
}
