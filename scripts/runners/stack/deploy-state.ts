/**
 * The deploy state of record, in the state directory: `deploy/state.json` (active color,
 * weights, what each color runs), each color's `deploy/<color>.env` (VERSION, FAULT, read by
 * compose), the lock, and Traefik's watched routes rendered from the state. `make up` and
 * `make deploy` both go through here, so a restart keeps what was deployed.
 */
import { readFileSync } from 'node:fs';
import { link, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Color } from '../../../services/config/schema.js';
import { envAssignment } from '../../../services/contracts/index.js';
import { initialDeployState, STICKY_COOKIE, type ColorState, type DeployState } from '../../../services/deploy/policy.js';
import { DeployLockedError } from '../../../services/errors.js';
import { renderFileContent } from '../../../services/render/files.js';
import { colorImageVariable, serviceImageVariable } from '../../../services/topology/apps.js';
import type { AppService } from '../../../services/config/schema.js';
import { traefikRoutesFile } from '../../../services/topology/traefik.js';
import { writeFileAtomic } from '../core/state.js';
import type { ComposeTarget } from '../clients/engine.js';

const deployDir = (stateDir: string) => join(stateDir, 'deploy');
const statePathIn = (stateDir: string) => join(deployDir(stateDir), 'state.json');
export const routesPath = (stateDir: string): string => join(stateDir, 'traefik', 'dynamic', 'routes.yml');

export async function readDeployState(stateDir: string): Promise<DeployState | undefined> {
  try {
    return JSON.parse(await readFile(statePathIn(stateDir), 'utf8')) as DeployState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Synchronous read for compose's environment (image variables); undefined when no deploy has run. */
export function readDeployStateSync(stateDir: string): DeployState | undefined {
  try {
    return JSON.parse(readFileSync(statePathIn(stateDir), 'utf8')) as DeployState;
  } catch {
    return undefined;
  }
}

export async function writeDeployState(stateDir: string, state: DeployState): Promise<void> {
  await writeFileAtomic(statePathIn(stateDir), `${JSON.stringify(state, null, 2)}\n`);
}

/** A color's VERSION/FAULT for compose's env_file. */
export async function writeColorEnv(stateDir: string, color: Color, settings: ColorState): Promise<void> {
  const lines = [`# Written by Parity (make up / make deploy): what the ${color} color runs.`, envAssignment('VERSION', settings.version), envAssignment('FAULT', settings.fault ?? '')];
  await writeFileAtomic(join(deployDir(stateDir), `${color}.env`), `${lines.join('\n')}\n`);
}

/** Default env files for a fresh state directory (never overwrites a deployed color). */
export async function ensureColorEnvFiles(stateDir: string): Promise<void> {
  const state = await readDeployState(stateDir);
  for (const color of ['blue', 'green'] as const) {
    const file = join(deployDir(stateDir), `${color}.env`);
    const present = await stat(file).then(
      () => true,
      () => false,
    );
    if (!present) await writeColorEnv(stateDir, color, state?.colors[color] ?? { version: `0.0.0-${color}` });
  }
}

/** Compose variables for the colors' images (set only when a deploy chose another image). */
export function colorImageEnvironment(stateDir: string): Record<string, string> {
  const state = readDeployStateSync(stateDir);
  const env: Record<string, string> = {};
  for (const color of ['blue', 'green'] as const) {
    const image = state?.colors[color].image;
    if (image) env[colorImageVariable(color)] = image;
    // A per-service deploy's images win over the color's (services/topology/apps.ts).
    for (const [app, ref] of Object.entries(state?.colors[color].images ?? {})) if (ref) env[serviceImageVariable(app as AppService, color)] = ref;
  }
  return env;
}

/**
 * The target with the deploy state wired in: each compose call reads the colors' images then, so
 * a color deployed on another image keeps it when compose recreates its containers. Idempotent.
 */
export function withDeployedImages(target: ComposeTarget): ComposeTarget {
  return target.variables ? target : { ...target, variables: () => colorImageEnvironment(target.stateDir) };
}

/** Traefik's routes for a state: the weights, and the sticky cookie while both colors get traffic. */
export async function writeRoutes(stateDir: string, state: Pick<DeployState, 'weights' | 'sticky'>): Promise<void> {
  const split = state.weights.blue > 0 && state.weights.green > 0;
  const routes = traefikRoutesFile(state.weights, state.sticky && split ? { stickyCookie: STICKY_COOKIE } : {});
  await writeFileAtomic(routesPath(stateDir), renderFileContent({ ...routes, source: 'scripts/runners/stack/deploy-state.ts (deploy state)' }));
}

/** The state, or a fresh one for `activeColor` when no deploy has run yet. */
export async function currentDeployState(stateDir: string, activeColor: Color): Promise<DeployState> {
  return (await readDeployState(stateDir)) ?? initialDeployState(activeColor);
}

export interface LockInfo {
  readonly pid: number;
  readonly command: string;
  readonly startedAt: string;
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Take the deploy lock. The lock file appears complete or not at all (written to a temp file,
 * then hard-linked into place, which fails if it exists). A lock whose process is gone, or
 * that can't be read, is stale (a killed deploy): it is moved aside under a unique name (so two
 * takers can't both win) and `onStale` hears about it. Returns the release function.
 */
export async function acquireDeployLock(stateDir: string, command: string, onStale: (stale: LockInfo) => void): Promise<() => Promise<void>> {
  const dir = deployDir(stateDir);
  const file = join(dir, 'lock');
  await mkdir(dir, { recursive: true });
  const mine: LockInfo = { pid: process.pid, command, startedAt: new Date().toISOString() };
  const temp = join(dir, `lock.${process.pid}.${Date.now()}.tmp`);
  await writeFile(temp, JSON.stringify(mine));
  try {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      try {
        await link(temp, file);
        return async () => {
          const held = await readLock(file);
          if (held?.pid === process.pid) await rm(file, { force: true });
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const held = await readLock(file);
      if (held && isAlive(held.pid)) {
        throw new DeployLockedError(
          `another deploy is running: "${held.command}" (pid ${held.pid}, started ${held.startedAt}). Wait for it, or stop it (its lock is ${file}).`,
        );
      }
      const aside = join(dir, `lock.stale.${process.pid}.${attempt}`);
      try {
        await rename(file, aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // someone else moved it: try again
        throw error;
      }
      await rm(aside, { force: true });
      onStale(held ?? { pid: 0, command: 'unknown (unreadable lock)', startedAt: 'unknown' });
    }
    throw new DeployLockedError(`could not take the deploy lock ${file} (it keeps changing hands)`);
  } finally {
    await rm(temp, { force: true });
  }
}

async function readLock(file: string): Promise<LockInfo | undefined> {
  try {
    const held = JSON.parse(await readFile(file, 'utf8')) as Partial<LockInfo>;
    return typeof held.pid === 'number' ? (held as LockInfo) : undefined;
  } catch {
    return undefined;
  }
}
