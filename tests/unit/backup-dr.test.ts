/**
 * Backups, restores and the DR region, pure: the config's rules, what the model renders for each
 * region, and the drills' figures from what they observed.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../services/config/validate.js';
import { DEFAULT_CONFIG } from '../../services/config/schema.js';
import { judgeFigures } from '../../services/drills/model.js';
import { expectedRows, recoveryPointMs, restoreFigures } from '../../services/drills/restore.js';
import { lsnBytes } from '../../services/contracts/index.js';
import { FAILBACK_MOMENTS, REGION_MOMENTS, regionFigures, standbyRefusal, walRpo } from '../../services/drills/region.js';
import { buildTopology } from '../../services/topology/index.js';
import { pgbackrestConfig } from '../../services/topology/backup.js';
import { linkComposeObject, linkNetworkNames } from '../../services/topology/link.js';
import { renderRegionFiles } from '../../services/render/compose.js';
import { parseDrillTarget } from '../../scripts/runners/drill/restore/restore.js';
import { DrillInputError } from '../../services/errors.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '../../scripts/runners/gen/gen.js';
import { checkDrift } from '../../scripts/runners/gen/drift.js';

const problems = (text: string): string => {
  try {
    parseConfig(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected the config to be rejected');
};

describe('backup and dr in parity.yaml', () => {
  it('GIVEN the defaults THEN backups are on with the full profile\'s Patroni cluster, off in minimal, and no DR region', () => {
    expect(parseConfig('').backup.enabled).toBe(true);
    expect(parseConfig('profile: minimal\n').backup.enabled).toBe(false);
    expect(parseConfig('profile: minimal\npostgres:\n  ha: patroni\n').backup.enabled).toBe(false);
    expect(parseConfig('').dr.enabled).toBe(false);
  });

  it('GIVEN backups without the Patroni cluster THEN the line and the way out', () => {
    expect(problems('profile: minimal\nbackup:\n  enabled: true\n')).toBe(
      'parity.yaml: 1 problem; nothing was written\n  parity.yaml:3:3 backup.enabled: backups need postgres.ha: patroni (pgBackRest archives from whichever Patroni node leads); set postgres.ha: patroni or backup.enabled: false',
    );
  });

  it('GIVEN alert budgets shorter than the schedule THEN each is named with what it must exceed', () => {
    const message = problems('backup:\n  archiveTimeoutSeconds: 120\n  alerts:\n    walAgeSeconds: 60\n    backupAgeSeconds: 600\n');
    expect(message).toContain('backup.alerts.walAgeSeconds: expected more than backup.archiveTimeoutSeconds (120 s), got 60: WAL waits up to that long by design');
    expect(message).toContain('backup.alerts.backupAgeSeconds: expected more than the backup interval (3600 s), got 600: the alert would fire between every two scheduled backups');
  });

  it('GIVEN a DR region without backups THEN it says why it needs them', () => {
    expect(problems('dr:\n  enabled: true\nbackup:\n  enabled: false\n')).toContain(
      'dr.enabled: a DR region needs backup.enabled: true (the standby cluster falls back to the WAL archive, which lives in the DR region)',
    );
  });
});

describe('the model, per region', () => {
  const dr = parseConfig('profile: minimal\npostgres:\n  ha: patroni\n  nodes: 2\nbackup:\n  enabled: true\ndr:\n  enabled: true\n');

  it('GIVEN no DR region THEN the repository is the region\'s own store; with one, the DR store through the link', () => {
    expect(pgbackrestConfig(DEFAULT_CONFIG)).toContain('repo1-s3-endpoint=s3');
    expect(pgbackrestConfig(dr, 'primary')).toEqual(expect.arrayContaining(['repo1-s3-endpoint=link', 'repo1-storage-port=18443']));
    expect(pgbackrestConfig(dr, 'dr')).toContain('repo1-s3-endpoint=s3');
    expect(pgbackrestConfig(DEFAULT_CONFIG)).toContain('repo1-cipher-type=aes-256-cbc');
  });

  it('GIVEN any region THEN archive-push is asynchronous and archive-get synchronous (2.45\'s async archive-get loses a race at a timeline switch)', () => {
    for (const lines of [pgbackrestConfig(DEFAULT_CONFIG), pgbackrestConfig(dr, 'primary'), pgbackrestConfig(dr, 'dr')]) {
      const section = lines.indexOf('[global:archive-get]');
      expect(lines.slice(0, section)).toContain('archive-async=y');
      expect(section).toBeGreaterThan(0);
      expect(lines[section + 1]).toBe('archive-async=n');
    }
  });

  it('GIVEN dr.enabled THEN the DR region bootstraps a standby cluster of the primary, publishes only ephemeral loopback ports, and its services carry region names', () => {
    const files = new Map(renderRegionFiles(dr).map((file) => [file.path, file.content]));
    expect(files.get('dr/patroni/patroni.yml')).toMatch(/standby_cluster:\n\s+create_replica_methods:\n\s+- basebackup\n\s+host: link\n\s+port: 15432/);
    const topology = buildTopology(dr, 'dr');
    expect(topology.services.flatMap((s) => s.ports ?? []).every((port) => port.bind === '127.0.0.1' && port.host === undefined)).toBe(true);
    expect(topology.services.find((s) => s.name === 'postgres-writer')?.aliases).toEqual(['dr-postgres']);
    expect(files.get('dr/compose.yaml')).toMatch(/^name: parity-dr$/m);
    expect(files.get('link/link.json')).toContain('"upstream": "primary-postgres:5432"');
  });

  it('GIVEN dr.enabled THEN the link joins both regions\' networks by name from the runner, and the edge publishes the users\' port', () => {
    const link = linkComposeObject(dr) as { services: Record<string, { ports: string[]; networks: unknown }>; networks: Record<string, { name: string }> };
    expect(link.networks['primary-data']!.name).toMatch(/^\$\{PARITY_PRIMARY_DATA_NETWORK:\?/);
    // The link's proxy on the regions' data networks only, the users' edge on their edge networks only.
    expect(link.services.link!.networks).toEqual({ 'primary-data': { aliases: ['link'] }, 'dr-data': { aliases: ['link'] } });
    expect(link.services.edge!.networks).toEqual(['primary-edge', 'dr-edge']);
    expect(linkNetworkNames('parity-x')).toEqual({
      PARITY_PRIMARY_DATA_NETWORK: 'parity-x_data',
      PARITY_DR_DATA_NETWORK: 'parity-x-dr_data',
      PARITY_PRIMARY_EDGE_NETWORK: 'parity-x_edge',
      PARITY_DR_EDGE_NETWORK: 'parity-x-dr_edge',
    });
    expect(link.services.edge!.ports).toEqual(['127.0.0.1:8444:9443']);
  });

  it('GIVEN dr.enabled THEN make gen writes dr/ and link/, and the drift check covers them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parity-dr-'));
    try {
      const written = (await generate(dr, dir)).written;
      expect(written).toEqual(expect.arrayContaining(['dr/compose.yaml', 'dr/patroni/patroni.yml', 'link/compose.yaml', 'link/link.json', 'patroni/patroni-standby.yml']));
      expect(await checkDrift(dr, dir)).toEqual([]);
      rmSync(join(dir, 'dr', 'compose.yaml'));
      expect(await checkDrift(dr, dir)).toEqual(['missing dr/compose.yaml']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('GIVEN no DR region THEN nothing of it is rendered', () => {
    expect(renderRegionFiles(DEFAULT_CONFIG)).toEqual([]);
  });
});

describe('restore drill figures', () => {
  const written = [1, 2, 3, 4].map((seq) => ({ seq, committedAtMs: 1000 * seq }));
  const budgets = DEFAULT_CONFIG.drills.restore;

  it('GIVEN a time target THEN rows committed by then must be there and the rest must not', () => {
    const { present, absent } = expectedRows({ target: { kind: 'mid' }, targetAt: new Date(2500), written });
    expect([...present]).toEqual([1, 2]);
    expect([...absent]).toEqual([3, 4]);
  });

  it('GIVEN a restore that went past the target THEN the extra rows fail the drill', () => {
    const figures = restoreFigures({ target: { kind: 'mid' }, targetAt: new Date(2500), written, restoredSeqs: new Set([1, 2, 3]), lastRecoveredCommitMs: 2400, rtoMs: 9000 }, budgets);
    expect(figures.find((f) => f.name === 'writes past the target')?.value).toBe(1);
    expect(figures.find((f) => f.name === 'acked writes missing')?.value).toBe(0);
    expect(figures.find((f) => f.name.startsWith('RPO'))?.value).toBe(100);
  });

  it('GIVEN latest THEN the RPO is the newest acknowledged write minus the newest recovered one', () => {
    expect(recoveryPointMs({ target: { kind: 'latest' }, written, restoredSeqs: new Set([1, 2, 3]), rtoMs: 1 })).toBe(1000);
    expect(recoveryPointMs({ target: { kind: 'latest' }, written, restoredSeqs: new Set([1, 2, 3, 4]), rtoMs: 1 })).toBe(0);
  });

  it('GIVEN a target that is none of the forms THEN bad input lists them', () => {
    expect(() => parseDrillTarget('yesterday')).toThrow(DrillInputError);
    expect(() => parseDrillTarget('yesterday')).toThrow('expected mid (a moment between the drill\'s own writes, the default), latest, a backup label');
    expect(parseDrillTarget('')).toEqual({ kind: 'mid' });
    expect(parseDrillTarget('2026-11-28T16:30:00Z')).toEqual({ kind: 'time', at: new Date('2026-11-28T16:30:00Z') });
  });
});

describe('region drill figures', () => {
  const markers = [...REGION_MOMENTS, ...FAILBACK_MOMENTS].map((name, index) => ({ name, atMs: 1000 * (index + 1) }));
  const observed = { markers, samples: [], lostAtFailover: 2, lostAtFailback: 0, filesRpoMs: 30_000, failback: true };

  it('GIVEN every moment THEN each phase is the time from the previous one, and the RTO their sum', () => {
    const figures = regionFigures(observed, DEFAULT_CONFIG.drills.region);
    expect(figures.slice(0, 5).map((f) => f.value)).toEqual([1000, 1000, 1000, 1000, 1000]);
    expect(figures.find((f) => f.name.startsWith('RTO'))?.value).toBe(5000);
    expect(figures.find((f) => f.name.startsWith('RPO'))?.value).toBe(2);
    expect(figures.find((f) => f.name === 'failback write stall')?.value).toBe(4000);
    expect(figures.filter((f) => f.name.startsWith('failback stall:')).map((f) => f.value)).toEqual([1000, 1000, 1000]);
  });

  it('GIVEN a moment that never came THEN its phase is missing and required', () => {
    const figures = regionFigures({ ...observed, markers: markers.filter((m) => m.name !== REGION_MOMENTS[2]) }, DEFAULT_CONFIG.drills.region);
    expect(figures.find((f) => f.name === 'promotion')).toMatchObject({ value: null, required: true });
  });
});

describe('region drill: it starts only on a DR standby that has what the primary acknowledged', () => {
  const view = { receiver: 'streaming', behindBytes: 0, caughtUpMs: 120, budgetMs: 5000 };

  it('GIVEN a streaming standby that replayed the primary\'s position in time THEN the drill may start', () => {
    expect(standbyRefusal(view)).toBeUndefined();
  });

  it('GIVEN a standby with no WAL receiver (an old timeline, an old backup) THEN it refuses, saying how far behind', () => {
    expect(standbyRefusal({ ...view, receiver: null, behindBytes: 3 * 1024 * 1024, caughtUpMs: null })).toMatch(
      /^the DR standby is not streaming from the primary \(WAL receiver: none; 3\.0 MiB behind\): a region switch now would lose what the primary acknowledged since it stopped following/,
    );
  });

  it('GIVEN a streaming standby that lags past the budget THEN it refuses, naming the budget', () => {
    expect(standbyRefusal({ ...view, behindBytes: 2048, caughtUpMs: null })).toBe(
      "the DR standby did not replay the primary's current position within 5000 ms (drills.region.standbyLagMs; still 2.0 KiB behind): a region switch now would lose at least that much",
    );
  });
});

describe("region drill: the RPO of every user's writes, from WAL positions", () => {
  it('GIVEN DR replayed past the primary\'s last sample THEN nothing was lost', () => {
    expect(walRpo({ lsn: lsnBytes('0/7000100'), atMs: 5000 }, { lsn: lsnBytes('0/7000200'), lastReplayAtMs: 4990 })).toEqual({ bytes: 0, ms: 0 });
  });

  it('GIVEN DR behind the primary THEN the bytes it never replayed and the age of its newest transaction', () => {
    expect(walRpo({ lsn: lsnBytes('1/00000010'), atMs: 10_000 }, { lsn: lsnBytes('0/FFFFFFF0'), lastReplayAtMs: 7_500 })).toEqual({ bytes: 32, ms: 2500 });
  });

  it('GIVEN a loss over the budget THEN the figure fails; GIVEN no measurement THEN it is required', () => {
    const markers = [...REGION_MOMENTS].map((name, index) => ({ name, atMs: 1000 * (index + 1) }));
    const base = { markers, samples: [], lostAtFailover: 0, lostAtFailback: null, filesRpoMs: 1000, failback: false };
    const over = judgeFigures(regionFigures({ ...base, wal: { bytes: 2 * 1024 * 1024, ms: 800 } }, DEFAULT_CONFIG.drills.region));
    expect(over.find((f) => f.name.startsWith("RPO: every user's writes"))).toMatchObject({ value: 2 * 1024 * 1024, pass: false });
    const never = judgeFigures(regionFigures({ ...base, wal: null }, DEFAULT_CONFIG.drills.region));
    expect(never.find((f) => f.name.startsWith("RPO: every user's writes"))).toMatchObject({ value: null, pass: false });
    expect(regionFigures(base, DEFAULT_CONFIG.drills.region).find((f) => f.name.startsWith("RPO: every user's writes"))).toMatchObject({ required: false });
  });
});
