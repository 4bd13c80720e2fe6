/**
 * Failover drills on a real Patroni cluster (3 etcd, 3 Patroni nodes, HAProxy writer/reader) with
 * the platform services in front, in synchronous mode. Every case runs the drill runner itself
 * (`runFailoverDrill`): the writer, the users, the faults and the figures are the drill's, not a
 * second implementation. Figures are printed; the issue's hard requirements are asserted.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../services/config/validate.js';
import { DrillInputError } from '../../services/errors.js';
import type { DrillReport, FigureVerdict } from '../../services/drills/model.js';
import { runFailoverDrill } from '../../scripts/runners/drill/failover/failover.js';
import { clusterHealthy, readCluster, patroniRest } from '../../scripts/runners/clients/patroni.js';
import type { Progress } from '../../scripts/runners/core/progress.js';
import { engineOf } from '../../scripts/runners/clients/engine-of.js';
import { type ComposeTarget } from '../../scripts/runners/clients/engine.js';
import { patroniNodes } from '../../services/topology/patroni.js';
import { eventually, spawnCli, startGeneratedStack, type GeneratedStack } from './helpers.js';
import { createClient } from '../../scripts/runners/core/http.js';
import { READ_FROM_HEADER, headerKey } from '../../services/contracts/index.js';
import { ADMIN_EMAIL } from '../../services/topology/apps.js';
import { EXAMPLES, buildExample } from '../../scripts/runners/dev/example.js';
import { generate } from '../../scripts/runners/gen/gen.js';
import { prepareState } from '../../scripts/runners/stack/stack-state.js';

const project = `parity-failover-${process.pid}`;
/**
 * The minimal profile (no monitoring) with the HA cluster: what the drills need, and less to start.
 * Its own host ports and no test overlay: the front runs, and the drill's users come through it
 * from many client addresses, as users do.
 */
const PORTS = { http: 29080, https: 29443, dashboard: 29081, postgres: 29432, postgresReplica: 29433, redis: 29379, s3: 29333, prometheus: 29090, alertmanager: 29093, grafana: 29300 } as const;
const CONFIG_YAML = `profile: minimal\npostgres:\n  ha: patroni\n  synchronous: true\nports:\n${Object.entries(PORTS).map(([key, port]) => `  ${key}: ${port}\n`).join('')}`;
const config = parseConfig(CONFIG_YAML);
let stateDir: string;
let composeDir: string;
let stack: GeneratedStack;
let target: ComposeTarget;
const log: string[] = [];
const progress: Progress = { info: (message) => log.push(message), step: () => {}, done: () => {} };

const figure = (report: DrillReport, name: string): FigureVerdict => {
  const found = report.figures.find((f) => f.name === name || f.name.startsWith(name));
  if (!found) throw new Error(`no figure "${name}" in ${report.figures.map((f) => f.name).join(', ')}`);
  return found;
};

const printed = (report: DrillReport) =>
  `FIGURES ${report.scenario}: ${report.figures.map((f) => `${f.name}=${f.value ?? 'n/a'}${f.unit === 'ms' ? 'ms' : ''}`).join(', ')}`;

async function drill(scenario: string): Promise<DrillReport> {
  const { report } = await runFailoverDrill({ target, config, scenario, progress });
  log.push(printed(report));
  // Every drill leaves the cluster as it found it: one leader, every replica replicating.
  expect(clusterHealthy(await readCluster(await patroniRest(target, config)), patroniNodes(config))).toBe(true);
  return report;
}

beforeAll(async () => {
  stack = await startGeneratedStack('failover', project, CONFIG_YAML, { overlay: false });
  ({ stateDir, composeDir, target } = stack);
}, 600_000);

afterAll(async () => {
  await stack?.down();
  process.stdout.write(`\nfailover drills:\n${log.filter((line) => line.startsWith('FIGURES')).join('\n')}\n`);
}, 120_000);

describe('failover drills on a real Patroni cluster (synchronous mode) under load', () => {
  it('kill-primary: a new leader within budget, 0 acknowledged writes lost, API writes back within budget, the old leader rejoins', async () => {
    const report = await drill('kill-primary');
    expect(report.result).toBe('pass');
    expect(figure(report, 'acked writes lost').value).toBe(0);
    expect(figure(report, 'RTO').pass).toBe(true);
    expect(figure(report, 'API write recovery').pass).toBe(true);
    // Users (20 writes/s through the front from 250 addresses) wait no more than the database's RTO + 1 s.
    expect(figure(report, "users' longest gap without an acked API write").pass).toBe(true);
    expect(figure(report, 'rejoin as replica').value).not.toBeNull();
    expect(report.markers.every((m) => m.atMs !== undefined)).toBe(true);
    // A timeline: in time order, and nothing healthy before a leader exists.
    const at = (name: string) => report.markers.find((m) => m.name === name)!.atMs!;
    expect(report.markers.map((m) => m.atMs)).toEqual([...report.markers.map((m) => m.atMs!)].sort((a, b) => a - b));
    expect(report.markers.map((m) => m.name).slice(0, 3)).toEqual(['fault injected', 'leader lost detected', 'new leader elected']);
    expect(at('first acked write')).toBeGreaterThanOrEqual(at('new leader elected'));
    expect(at('API reads and writes healthy')).toBeGreaterThanOrEqual(at('new leader elected'));
    expect(report.markers.map((m) => m.name)).toEqual(expect.arrayContaining(['first acked write', 'API reads and writes healthy', 'fault removed', expect.stringMatching(/^postgres-\d rejoined as replica$/)]));
  });

  it("read-your-writes across a failover: a member's write before the kill is there after it, and their reads go back to a replica (no stuck reads after the timeline switch)", async () => {
    const http = createClient(join(stateDir, 'ca', 'parity-ca.pem'));
    const base = await engineOf(target).httpsEndpoint();
    const json = { 'content-type': 'application/json' };
    const login = async (email: string, password: string) =>
      (JSON.parse((await http(`${base}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ email, password }) })).body) as { accessToken: string }).accessToken;
    const admin = await login(ADMIN_EMAIL, readFileSync(join(stateDir, 'secrets', 'admin_password'), 'utf8').trim());
    const created = await http(`${base}/api/events`, { method: 'POST', headers: { ...json, authorization: `Bearer ${admin}` }, body: JSON.stringify({ title: 'Failover social', startsAt: '2027-01-15T18:00:00Z' }) });
    expect(created.status).toBe(201);
    const eventId = (JSON.parse(created.body) as { id: string }).id;
    const member = { email: `member-${Date.now()}@parity.localhost`, password: 'a long member password' };
    expect((await http(`${base}/auth/register`, { method: 'POST', headers: json, body: JSON.stringify(member) })).status).toBe(201);
    const token = await login(member.email, member.password);
    const rsvp = await http(`${base}/api/events/${eventId}/rsvp`, { method: 'POST', headers: { ...json, authorization: `Bearer ${token}` }, body: JSON.stringify({ status: 'going' }) });
    expect([200, 201]).toContain(rsvp.status);
    await drill('kill-primary');
    const read = async () => {
      const response = await http(`${base}/api/events?limit=50`, { headers: { authorization: `Bearer ${token}` } });
      const event = (JSON.parse(response.body) as { events: { id: string; rsvps: number }[] }).events.find((e) => e.id === eventId);
      return { from: response.headers[headerKey(READ_FROM_HEADER)], rsvps: event?.rsvps };
    };
    const after = await eventually(async () => {
      const answer = await read();
      if (answer.from !== 'replica') throw new Error(`still read from ${String(answer.from)}`);
      return answer;
    }, 15_000, 500);
    log.push(`FIGURES ryw: after the failover the member's reads came from ${after.from}, RSVP count ${after.rsvps}`);
    expect(after.rsvps).toBe(1);
  });

  it('partition-primary: the cut-off leader stops accepting writes no later than another node is promoted', async () => {
    const report = await drill('partition-primary');
    expect(report.markers.find((m) => m.name === 'cut-off leader accepts no writes')?.atMs).toBeDefined();
    expect(figure(report, 'two writable nodes at once').value).toBe(0);
    expect(figure(report, 'acked writes lost').value).toBe(0);
    expect(report.result).toBe('pass');
  });

  it('switchover: nothing lost, and the write stall stays within budget', async () => {
    const report = await drill('switchover');
    expect(figure(report, 'acked writes lost').value).toBe(0);
    expect(figure(report, 'switchover write stall').pass).toBe(true);
    expect(report.result).toBe('pass');
  });

  it.each(['kill-replica', 'lose-etcd-member'])('%s: no failover and no write errors', async (scenario) => {
    const report = await drill(scenario);
    expect(figure(report, 'false failovers').value).toBe(0);
    expect(figure(report, 'write errors seen by clients').value).toBe(0);
    expect(report.result).toBe('pass');
  });

  it('bad input exits 2 before anything changes: an unknown scenario, a stack without Patroni', async () => {
    const unknown = await runFailoverDrill({ target, config, scenario: 'kill-everything', progress }).catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(DrillInputError);
    expect((unknown as Error).message).toBe(
      'unknown failover scenario "kill-everything"; expected one of: kill-primary, stop-primary, partition-primary, kill-replica, lose-etcd-member, switchover',
    );
    const streaming = await runFailoverDrill({ target, config: parseConfig('profile: minimal\n'), scenario: 'kill-primary', progress }).catch((error: unknown) => error);
    expect((streaming as DrillInputError).exitCode).toBe(2);
    expect((streaming as Error).message).toContain('the failover drill needs the Patroni cluster (postgres.ha: patroni in parity.yaml');
  });

  it('Ctrl-C in the middle of a drill puts back what it changed and leaves the cluster healthy', async () => {
    const configFile = join(stateDir, 'parity-failover.yaml');
    await import('node:fs/promises').then((fs) => fs.writeFile(configFile, CONFIG_YAML));
    const cli = spawnCli('drill.ts', ['failover', '--scenario', 'kill-primary'], { ...process.env, PARITY_STATE_DIR: stateDir, PARITY_PROJECT: project, PARITY_CONFIG: configFile, PARITY_COMPOSE_DIR: composeDir });
    await cli.waitFor('fault injected', 120_000);
    cli.child.kill('SIGINT');
    const code = await cli.exited;
    const output = cli.output();
    log.push(`FIGURES ctrl-c: exit ${code}; ${output.split('\n').filter((line) => /restored|started .* again|cluster healthy/.test(line)).join(' | ')}`);
    expect(code).toBe(130);
    expect(output).toContain('SIGINT: stopping the drill and putting back what it changed');
    expect(output).toMatch(/started postgres-\d again/);
    expect(output).toContain('cluster healthy: one leader, every replica replicating, every etcd member healthy');
    expect(clusterHealthy(await readCluster(await patroniRest(target, config)), patroniNodes(config))).toBe(true);
  });
  it('kill-primary against a service that is not a stub: the example Events API (Python) in image mode takes the users\' writes; none acknowledged is lost, and users wait no longer than RTO + 1 s', async () => {
    // Last in the suite: the same stack with Events swapped for the example (make up would do the same from this parity.yaml).
    const built = await buildExample('events-python', progress);
    const withExample = parseConfig(`${CONFIG_YAML}services:\n  events:\n    source: image\n    image: ${built.ref}\n    port: ${EXAMPLES['events-python'].port}\n`);
    await generate(withExample, composeDir);
    await prepareState(stateDir, composeDir);
    await engineOf(target).up([], { removeOrphans: true });
    const http = createClient(join(stateDir, 'ca', 'parity-ca.pem'));
    const base = await engineOf(target).httpsEndpoint();
    await eventually(async () => expect((await http(`${base}/api/events?limit=1`)).headers.server).toMatch(/^events-python\b/), 60_000, 500);
    const { report } = await runFailoverDrill({ target, config: withExample, scenario: 'kill-primary', progress });
    log.push(`${printed(report)} (events: the Python example)`);
    expect(clusterHealthy(await readCluster(await patroniRest(target, withExample)), patroniNodes(withExample))).toBe(true);
    expect(figure(report, 'acked writes lost').value).toBe(0);
    expect(figure(report, "users' longest gap without an acked API write").pass).toBe(true);
    expect(report.result).toBe('pass');
  }, 300_000);
});
