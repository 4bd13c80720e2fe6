import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../services/config/validate.js';
import { buildTopology } from '../../services/topology/index.js';
import { renderAll } from '../../services/render/compose.js';
import { MAX_SLOT_WAL_KEEP_SIZE } from '../../services/topology/common.js';

type ComposeService = { command?: string[] };
const rendered = (yaml: string) => renderAll(buildTopology(parseConfig(yaml)));
const composeOf = (yaml: string) => parse(rendered(yaml).get('compose.yaml')!.content) as { services: Record<string, ComposeService> };

describe('hardening: Postgres', () => {
  it('bounds the WAL a replication slot may hold, in Patroni\'s dynamic config and on the plain primary', () => {
    const patroni = parse(rendered('').get('patroni/patroni.yml')!.content) as { bootstrap: { dcs: { postgresql: { parameters: Record<string, unknown> } } } };
    expect(patroni.bootstrap.dcs.postgresql.parameters.max_slot_wal_keep_size).toBe(MAX_SLOT_WAL_KEEP_SIZE);
    const primary = composeOf('profile: minimal\npostgres:\n  ha: streaming\n').services['postgres-primary']!;
    expect(primary.command).toContain(`max_slot_wal_keep_size=${MAX_SLOT_WAL_KEEP_SIZE}`);
  });
});
