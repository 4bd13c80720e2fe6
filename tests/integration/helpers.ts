import { DB_INIT } from '../../services/config/profiles.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../services/config/validate.js';
import { generate } from '../../scripts/runners/gen/gen.js';
import { buildTopology } from '../../services/topology/index.js';
import { prepareState } from '../../scripts/runners/stack/stack-state.js';
import type { ComposeTarget } from '../../scripts/runners/clients/engine.js';
import { DockerComposeEnvironment, Wait, type StartedDockerComposeEnvironment } from 'testcontainers';
import { catalogRef } from '../../services/images/catalog.js';
import { done, pending, pollUntil } from '../../scripts/runners/core/poll.js';
import type { DrillReport, FigureVerdict } from '../../services/drills/model.js';
import type { Progress } from '../../scripts/runners/core/progress.js';

/** The catalog reference of an image, so tests run exactly what the bake produced. */
export const imageRef = catalogRef;

/**
 * Retry `probe` until it resolves; after `timeoutMs` a TimeoutError carries its last error.
 * `subject` names what is awaited in that message.
 */
export async function eventually<T>(probe: () => Promise<T>, timeoutMs = 30_000, intervalMs = 500, subject = 'a test condition'): Promise<T> {
  const result = await pollUntil(
    async () => {
      try {
        return done(await probe());
      } catch (error) {
        return pending(error instanceof Error ? error.message : String(error));
      }
    },
    { subject, expectation: 'the probe to succeed', timeoutMs, intervalMs },
  );
  return result.value;
}

/**
 * The generated stack (compose.yaml + the ephemeral-port test overlay) under its own project
 * name and state directory, every service healthy.
 */
/**
 * `overlay: false` starts compose.yaml alone: the published ports are the config's, and the front
 * runs (the overlay leaves it out, since it binds fixed host ports on the host network).
 */
export function startComposeStack(project: string, stateDir: string, composeDir = join(import.meta.dirname, '..', '..', 'compose'), overlay = true, probed: readonly string[] = []): Promise<StartedDockerComposeEnvironment> {
  let environment = new DockerComposeEnvironment(composeDir, overlay ? ['compose.yaml', 'compose.test.yaml'] : ['compose.yaml'])
    .withProjectName(project)
    .withEnvironment({ PARITY_STATE_DIR: stateDir })
    .withDefaultWaitStrategy(Wait.forHealthCheck())
    // The one-shot that makes the database roles: done when it exited 0 (the apps waited for it).
    .withWaitStrategy(`${DB_INIT}-1`, Wait.forOneShotStartup());
  // A developer's image has no health check of its own: its probe (waited for like the rest) judges it.
  for (const service of probed) environment = environment.withWaitStrategy(`${service}-1`, Wait.forListeningPorts());
  return environment.withStartupTimeout(300_000).up();
}

/**
 * `compose down` with the volumes. Engine 20.10 sometimes keeps a network's endpoint count after
 * its containers are gone ("has active endpoints" with none listed; seen after suites that
 * SIGKILL containers): only an engine restart frees it. When that is all that is left (no
 * container, no volume of the project), the suite doesn't fail for it: it says which network
 * remains and how to free it. Anything else left still fails.
 */
export async function downComposeStack(stack: StartedDockerComposeEnvironment | undefined, project: string): Promise<void> {
  try {
    await stack?.down({ removeVolumes: true, timeout: 10_000 });
  } catch (error) {
    if (!/has active endpoints/.test(String((error as Error).message))) throw error;
    const list = (argv: string[]) => spawnSync('docker', argv, { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    const label = `label=com.docker.compose.project=${project}`;
    if (list(['ps', '-aq', '--filter', label]).length || list(['volume', 'ls', '-q', '--filter', label]).length) throw error;
    const stale = list(['network', 'ls', '-q', '--filter', label]).filter((network) => spawnSync('docker', ['network', 'rm', network]).status !== 0);
    if (stale.length === 0) return;
    process.stderr.write(
      `\nwarning: ${project}: the engine keeps ${stale.length} network(s) for a stale endpoint count (engine 20.10; no container is attached): ${list(['network', 'ls', '--filter', label, '--format', '{{.Name}}']).join(', ')}. Freed by restarting the engine (sudo systemctl restart docker, or sudo pkill dockerd && make engine), then docker network rm.\n`,
    );
  }
}

/** A stack generated for one suite's own config, under its own project, state and compose directories. */
export interface GeneratedStack {
  readonly stateDir: string;
  readonly composeDir: string;
  /** The suite's parity.yaml, for the CLI (`PARITY_CONFIG`). */
  readonly configFile: string;
  readonly target: ComposeTarget;
  /** The environment that points the CLI (scripts/*.ts) at this stack and config. */
  cliEnv(): NodeJS.ProcessEnv;
  /** Containers, networks, volumes and the state directory: all gone. */
  down(): Promise<void>;
}

/** Generate compose/ for `configYaml` under .parity/test-<name>-*, prepare its state, start it healthy. */
export async function startGeneratedStack(name: string, project: string, configYaml: string, options: { readonly overlay?: boolean } = {}): Promise<GeneratedStack> {
  const stateDir = mkdtempSync(join(import.meta.dirname, '..', '..', '.parity', `test-${name}-`));
  const composeDir = join(stateDir, 'compose');
  const configFile = join(stateDir, 'parity.yaml');
  writeFileSync(configFile, configYaml);
  const config = parseConfig(configYaml);
  await generate(config, composeDir);
  await prepareState(stateDir, composeDir);
  const probed = buildTopology(config).services.filter((service) => service.probedBy).map((service) => service.name);
  let stack: StartedDockerComposeEnvironment | undefined;
  try {
    stack = await startComposeStack(project, stateDir, composeDir, options.overlay ?? true, probed);
  } catch (error) {
    rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }
  return {
    stateDir,
    composeDir,
    configFile,
    target: { project, composeDir, stateDir },
    cliEnv: () => ({ ...process.env, PARITY_STATE_DIR: stateDir, PARITY_PROJECT: project, PARITY_CONFIG: configFile, PARITY_COMPOSE_DIR: composeDir }),
    async down() {
      await downComposeStack(stack, project);
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** A drill's figure by the start of its name; a clear failure when it is missing. */
export function figureOf(report: DrillReport, name: string): FigureVerdict {
  const found = report.figures.find((f) => f.name.startsWith(name));
  if (!found) throw new Error(`no figure "${name}" in ${report.figures.map((f) => f.name).join(', ')}`);
  return found;
}

/** A Progress that keeps what a runner says in `log` (for the suite's printout) and shows nothing. */
export const recordingProgress = (log: string[]): Progress => ({ info: (message) => log.push(message), step: () => {}, done: () => {} });

/**
 * What a TCP connection to `host:port` gets from a throwaway container on `network` (a project's
 * `<project>_edge`): `open`, or the error's code (`ENOTFOUND`: the name doesn't resolve there, the
 * service shares no network with it), or `timeout` after 3 s. The container goes with its run.
 */
export function probeFrom(network: string, host: string, port: number): string {
  return spawnSync('docker', ['run', '--rm', '--network', network, '--entrypoint', 'node', imageRef('stubs'), '-e',
    `const s=require('net').connect(${port},'${host}');s.setTimeout(3000);s.on('connect',()=>{console.log('open');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)});s.on('timeout',()=>{console.log('timeout');process.exit(0)})`], { encoding: 'utf8' }).stdout.trim();
}

export { cliCommandLine, runCli, runCliSync, spawnCli, type CliChild } from '../cli.js';
