/**
 * Engine bootstrap: make sure a Docker engine answers and `docker compose` (v2) exists.
 *
 * Uses the engine that answers. Otherwise, on a Debian/Ubuntu host as root, installs the
 * distribution's engine package, starts `dockerd` in the background (log in the state
 * directory) and waits for it. Builds Compose v2 from its Go module source when the plugin
 * is missing. Every step says whether it changed anything, so a second run reports "nothing to do".
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { chmod, cp, mkdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { COMPOSE, ENGINE_PACKAGE } from '../../../services/engine.js';
import { downloadGoModule } from './go.js';
import { EngineUnavailableError, MissingToolError, TimeoutError, formatDuration, lastLines } from '../../../services/errors.js';
import { hasCommand, run, tryRun } from '../core/exec.js';
import { done, pending, pollUntil } from '../core/poll.js';
import type { Progress } from '../core/progress.js';
import { statePath, writeFileAtomic } from '../core/state.js';

export interface EngineReport {
  serverVersion: string;
  apiVersion: string;
  composeVersion: string;
  /** What this run changed; empty when everything was already in place. */
  changes: string[];
}

/** Facts about the host that decide whether an engine can be installed here. */
export interface HostFacts {
  isRoot: boolean;
  hasApt: boolean;
  hasDockerd: boolean;
  osId: string;
}

export async function readHostFacts(): Promise<HostFacts> {
  let osId = 'unknown';
  try {
    const release = readFileSync('/etc/os-release', 'utf8');
    const id = /^ID=(.*)$/m.exec(release)?.[1]?.replace(/"/g, '');
    const like = /^ID_LIKE=(.*)$/m.exec(release)?.[1]?.replace(/"/g, '');
    osId = [id, like].filter(Boolean).join(' ');
  } catch {
    // Not Linux, or no os-release: osId stays unknown and the install hint covers it.
  }
  return {
    isRoot: process.getuid?.() === 0,
    hasApt: await hasCommand('apt-get'),
    hasDockerd: await hasCommand('dockerd'),
    osId,
  };
}

/**
 * Why an engine can't be installed automatically on this host, or undefined when it can.
 * Pure, so the messages are tested exactly.
 */
export function explainCannotInstall(facts: HostFacts): string | undefined {
  const debianLike = /\b(debian|ubuntu)\b/.test(facts.osId);
  if (!facts.hasApt || !debianLike) {
    return (
      `No Docker engine answers and this host (${facts.osId}) has no apt, so Parity can't install one.\n` +
      `Install Docker Engine (or Docker Desktop) with your system's package manager, start it, and check that ` +
      '`docker info` answers; then run this again.'
    );
  }
  if (!facts.isRoot) {
    return (
      `No Docker engine answers and installing one needs root.\n` +
      `Run as root (sudo make engine), or install it yourself: apt-get install ${ENGINE_PACKAGE}, then start dockerd ` +
      'and add your user to the docker group.'
    );
  }
  return undefined;
}

async function engineVersions(): Promise<{ serverVersion: string; apiVersion: string } | undefined> {
  const result = await tryRun(['docker', 'version', '--format', '{{.Server.Version}} {{.Server.APIVersion}}'], {
    timeoutMs: 15_000,
  });
  if (result.code !== 0) return undefined;
  const [serverVersion = '', apiVersion = ''] = result.stdout.trim().split(' ');
  return serverVersion ? { serverVersion, apiVersion } : undefined;
}

/** Poll until `docker version` answers, or fail with the daemon's last log lines. */
export async function waitForEngine(timeoutMs: number, logFile?: string): Promise<{ serverVersion: string; apiVersion: string }> {
  try {
    const answered = await pollUntil(async () => {
      const versions = await engineVersions();
      return versions ? done(versions) : pending('docker version gets no answer from the daemon');
    }, { subject: 'the Docker engine', expectation: 'an answer to docker version', timeoutMs });
    return answered.value;
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    let tail = '';
    if (logFile) {
      try {
        tail = `\n--- last lines of ${logFile} ---\n${lastLines(readFileSync(logFile, 'utf8'), 30)}`;
      } catch {
        tail = `\n(no log at ${logFile})`;
      }
    }
    throw new TimeoutError(`${error.message}${tail}`, error.elapsedMs);
  }
}

async function installEnginePackage(progress: Progress): Promise<void> {
  progress.step(`apt-get install ${ENGINE_PACKAGE}`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await run(['apt-get', 'update', '-qq'], { env });
  await run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ENGINE_PACKAGE, 'iptables', 'ca-certificates'], {
    env,
    onLine: (line) => line.startsWith('Setting up') && progress.step(line.trim()),
  });
  progress.done();
}

/** Start dockerd detached from this process, its log in the state directory. */
async function startDaemon(): Promise<string> {
  const logFile = statePath('engine', 'dockerd.log');
  await mkdir(statePath('engine'), { recursive: true });
  const fd = openSync(logFile, 'a');
  const child = spawn('dockerd', [], { detached: true, stdio: ['ignore', fd, fd] });
  child.unref();
  closeSync(fd);
  await writeFileAtomic(statePath('engine', 'dockerd.pid'), `${child.pid}\n`);
  return logFile;
}

/** Where the docker CLI looks for plugins for this user. */
export function composePluginPath(): string {
  const config = process.env.DOCKER_CONFIG ?? join(homedir(), '.docker');
  return join(config, 'cli-plugins', 'docker-compose');
}

async function composeVersion(): Promise<string | undefined> {
  const result = await tryRun(['docker', 'compose', 'version', '--short'], { timeoutMs: 15_000 });
  return result.code === 0 ? result.stdout.trim() : undefined;
}

/** Build Compose v2 from its Go module source and install it as a CLI plugin. */
async function buildCompose(progress: Progress): Promise<string> {
  const started = Date.now();
  progress.step(`compose ${COMPOSE.version}: go mod download`);
  const source = await downloadGoModule(COMPOSE.module, COMPOSE.version);
  // The module cache is read-only and compose's go.mod has replace directives, so
  // `go install mod@version` refuses: build from a writable copy instead.
  const work = statePath('build', 'compose-src');
  await rm(work, { recursive: true, force: true });
  await cp(source, work, { recursive: true });
  await run(['chmod', '-R', 'u+w', work]);
  const plugin = composePluginPath();
  await mkdir(join(plugin, '..'), { recursive: true });
  progress.step(`compose ${COMPOSE.version}: go build (a few minutes on 2 cores)`);
  await run(
    ['go', 'build', '-trimpath', '-ldflags', `-s -w -X ${COMPOSE.versionVariable}=${COMPOSE.version}`, '-o', plugin, './cmd'],
    { cwd: work, env: { CGO_ENABLED: '0' } },
  );
  await chmod(plugin, 0o755);
  await rm(work, { recursive: true, force: true });
  progress.done();
  progress.info(`built Compose ${COMPOSE.version} from source in ${formatDuration(Date.now() - started)} → ${plugin}`);
  return plugin;
}

/** Make sure an engine answers and `docker compose` works. Idempotent. */
export async function ensureEngine(progress: Progress, options: { facts?: HostFacts } = {}): Promise<EngineReport> {
  const changes: string[] = [];
  let versions = await engineVersions();
  if (!versions) {
    const facts = options.facts ?? (await readHostFacts());
    if (!facts.hasDockerd) {
      const reason = explainCannotInstall(facts);
      if (reason) throw new EngineUnavailableError(reason);
      await installEnginePackage(progress);
      changes.push(`installed ${ENGINE_PACKAGE}`);
    } else if (!facts.isRoot) {
      throw new EngineUnavailableError(
        'dockerd is installed but no engine answers, and starting it needs root: start the Docker service ' +
          '(e.g. sudo systemctl start docker, or sudo dockerd &), then run this again.',
      );
    }
    progress.step('starting dockerd');
    const logFile = await startDaemon();
    versions = await waitForEngine(60_000, logFile);
    progress.done();
    changes.push(`started dockerd (log: ${logFile})`);
  }

  let compose = await composeVersion();
  if (!compose) {
    await buildCompose(progress);
    compose = await composeVersion();
    if (!compose) throw new MissingToolError(`built ${composePluginPath()}, but \`docker compose version\` still fails`);
    changes.push(`installed Compose ${compose} as a CLI plugin`);
  }
  return { ...versions, composeVersion: compose, changes };
}
