/**
 * The stack past one machine (issue #23): `make cluster-up` on three docker-in-docker Swarm nodes
 * (the minimal profile, to keep the suite short), users through the front, the node drill's
 * drain and loss (the same runner as `make drill-node`), and `make cluster-down` leaving nothing.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../services/config/validate.js';
import { clusterNetwork, clusterNodes } from '../../services/topology/cluster.js';
import type { ComposeTarget } from '../../scripts/runners/clients/engine.js';
import { createClient, userAddresses } from '../../scripts/runners/core/http.js';
import { runNodeDrill } from '../../scripts/runners/drill/node/node.js';
import { DrillBudgetError } from '../../services/errors.js';
import { figureOf, recordingProgress, runCli } from './helpers.js';

// Its own users' ports (the cluster's front binds them on the host), apart from a dev stack's.
const PORTS = { http: 38080, https: 38443, dashboard: 38081, postgres: 38432, postgresReplica: 38433, redis: 38379, s3: 38333, prometheus: 38090, alertmanager: 38093, grafana: 38300 } as const;
// A lost node may cost what is in flight on it (the front passes TLS through): measured ~1 % at 35
// requests/s here, so the suite's budget checks the figure is measured and bounded, not the goal.
const CONFIG_YAML = `profile: minimal\nports:\n${Object.entries(PORTS).map(([key, port]) => `  ${key}: ${port}\n`).join('')}drills:\n  node:\n    lostFailedPercent: 10\n`;
const config = parseConfig(CONFIG_YAML);
const project = `parity-cluster-${process.pid}`;
let stateDir: string;
let target: ComposeTarget;
let env: NodeJS.ProcessEnv;
const log: string[] = [];

const lines = (args: string[]) => spawnSync('docker', args, { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);

beforeAll(() => {
  mkdirSync(join(import.meta.dirname, '..', '..', '.parity'), { recursive: true });
  stateDir = mkdtempSync(join(import.meta.dirname, '..', '..', '.parity', 'test-cluster-'));
  const composeDir = join(stateDir, 'compose');
  writeFileSync(join(stateDir, 'parity.yaml'), CONFIG_YAML);
  target = { project, composeDir, stateDir };
  env = { ...process.env, PARITY_STATE_DIR: stateDir, PARITY_PROJECT: project, PARITY_CONFIG: join(stateDir, 'parity.yaml'), PARITY_COMPOSE_DIR: composeDir, CI: '1' };
});

afterAll(async () => {
  await runCli('cluster.ts', ['down'], env).catch(() => undefined);
  // The drills' reports outlive the suite, for whoever reads a failed run.
  if (existsSync(join(stateDir, 'drills'))) cpSync(join(stateDir, 'drills'), join(import.meta.dirname, '..', '..', '.parity', 'test-results', 'cluster-drills'), { recursive: true });
  rmSync(stateDir, { recursive: true, force: true });
  if (log.length) process.stderr.write(`${log.join('\n')}\n`);
});

describe('make cluster-up / drill-node / cluster-down', () => {
  it('GIVEN NODES=4 THEN cluster-up refuses before anything starts (exit 2), naming what it expected', async () => {
    const result = await runCli('cluster.ts', ['up', '--nodes', '4'], env);
    expect(result.code).toBe(2);
    expect(result.output).toMatch(/NODES=4: expected 1 to 3 nodes \(one per zone: zone-a, zone-b, zone-c\)/);
    expect(lines(['ps', '-aq', '--filter', `label=dev.parity.cluster=${project}`])).toEqual([]);
  });

  it('GIVEN three nodes THEN every service runs its replicas, the apps spread over at least two zones, Traefik on every node; users reach the platform through the front', async () => {
    const started = Date.now();
    const result = await runCli('cluster.ts', ['up', '--nodes', '3', '--timeout', '240'], env);
    log.push(`FIGURES cluster-up (minimal, 3 nodes): ${((Date.now() - started) / 1000).toFixed(1)} s; ${/cluster up in [^\n]*/.exec(result.output)?.[0] ?? ''}`);
    expect(result.code, result.output).toBe(0);
    const status = await runCli('cluster.ts', ['status'], env);
    expect(status.code, status.output).toBe(0);
    for (const node of clusterNodes(config, project)) expect(status.output).toMatch(new RegExp(`${node.name}\\s+${node.zone}\\s+Ready\\s+Active`));
    for (const app of ['events-blue', 'frontend-blue', 'auth']) expect(status.output).toMatch(new RegExp(`${app}\\s+replicated\\s+2/2\\s+[abc] [abc]`));
    expect(status.output).toMatch(/traefik\s+global\s+3\/3\s+a b c/);
    // make status shows the cluster too.
    const stack = await runCli('stack.ts', ['status'], env);
    expect(stack.output).toMatch(/Cluster \(make cluster-up\):\nNODE\s+ZONE/);
    // Users from many client addresses through the front on the host.
    const http = createClient(join(stateDir, 'ca', 'parity-ca.pem'), { keepAlive: false, sources: userAddresses(20) });
    const answers = await Promise.all(Array.from({ length: 20 }, () => http(`https://localhost:${PORTS.https}/api/events?limit=5`, { timeoutMs: 10_000 }).then((answer) => answer.status)));
    expect(answers.every((code) => code === 200), answers.join(' ')).toBe(true);
  });

  it('GIVEN lose-node of zone-c (apps, Traefik) on the fresh cluster THEN the front and Swarm notice, replicas are back within budget, no acknowledged write is lost, and the node is started again and rejoins', async () => {
    const outcome = await runNodeDrill({ target, config, scenario: 'lose-node', progress: recordingProgress([]) }).catch((error: Error) => error);
    if (outcome instanceof Error && !(outcome instanceof DrillBudgetError)) throw outcome;
    const dir = outcome instanceof DrillBudgetError ? outcome.reportDir : outcome.dir;
    const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as Awaited<ReturnType<typeof runNodeDrill>>['report'];
    log.push(`FIGURES lose-node: ${report.figures.map((f) => `${f.name}=${f.value ?? 'n/a'}`).join(', ')}`);
    expect(figureOf(report, 'front noticed').value).not.toBeNull();
    expect(figureOf(report, 'Swarm marked the node down').value).not.toBeNull();
    expect(figureOf(report, 'replicas back at desired').pass).toBe(true);
    expect(figureOf(report, 'acked API writes lost').value).toBe(0);
    expect(figureOf(report, "users' requests failed").value).not.toBeNull();
    expect(report.restored).toEqual(expect.arrayContaining([expect.stringMatching(/started again/)]));
    expect(figureOf(report, 'node back').value).not.toBeNull();
    for (const file of ['summary.txt', 'report.json', 'junit.xml', 'timeline.svg']) expect(existsSync(join(dir, file))).toBe(true);
  });

  it('GIVEN drain-node of zone-b (apps, the database replica) THEN the front drains the node first and no user request fails; the node comes back with its pinned tasks', async () => {
    const { report } = await runNodeDrill({ target, config, scenario: 'drain-node', zone: 'zone-b', progress: recordingProgress([]) });
    log.push(`FIGURES drain-node: ${report.figures.map((f) => `${f.name}=${f.value ?? 'n/a'}`).join(', ')}`);
    expect(figureOf(report, "users' requests failed")).toMatchObject({ value: 0, pass: true });
    expect(figureOf(report, 'replicas back at desired').pass).toBe(true);
    expect(figureOf(report, 'acked API writes lost').value).toBe(0);
    expect(report.restored).toEqual(expect.arrayContaining([expect.stringMatching(/active again/), expect.stringMatching(/front: zone-b ready again/)]));
    expect(figureOf(report, 'node back').value).not.toBeNull();
  });

  it('WHEN cluster-down THEN no container, volume, network, cgroup or socket folder of the cluster is left', async () => {
    const result = await runCli('cluster.ts', ['down'], env);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/removed 4 container\(s\)/);
    expect(lines(['ps', '-aq', '--filter', `label=dev.parity.cluster=${project}`])).toEqual([]);
    expect(lines(['volume', 'ls', '-q', '--filter', `label=dev.parity.cluster=${project}`])).toEqual([]);
    expect(lines(['network', 'ls', '-q', '--filter', `name=^${clusterNetwork(config, project).name}$`])).toEqual([]);
    const cgroups = readdirSync('/sys/fs/cgroup').filter((controller) => clusterNodes(config, project).some((node) => existsSync(join('/sys/fs/cgroup', controller, node.cgroupParent))));
    expect(cgroups).toEqual([]);
    expect(existsSync(join(tmpdir(), 'parity-cluster', project))).toBe(false);
    // The sockets' parent folder too, when no other cluster uses it: never left there empty.
    const sockets = join(tmpdir(), 'parity-cluster');
    expect(existsSync(sockets) && readdirSync(sockets).length === 0, `${sockets} is empty but still there`).toBe(false);
    const again = await runCli('cluster.ts', ['down'], env);
    expect(again.output).toMatch(/nothing to remove/);
  });
});
