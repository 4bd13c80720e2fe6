import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatStatusTable, readActiveColor } from '../../scripts/runners/stack/stack.js';
import { colorWeights, traefikDynamicConfig } from '../../services/topology/traefik.js';
import { renderYaml } from '../../services/render/yaml.js';

describe('status output', () => {
  it('aligns the table and leaves no trailing spaces', () => {
    const table = formatStatusTable([
      { service: 'traefik', state: 'running', health: 'healthy', color: '', url: 'https://127.0.0.1:8443/' },
      { service: 'frontend-blue', state: 'running', health: 'healthy', color: 'blue (active)', url: 'https://127.0.0.1:8443/' },
      { service: 'postgres-replica', state: 'absent', health: '', color: '', url: '' },
    ]);
    expect(table).toBe(
      [
        'SERVICE           STATE    HEALTH   COLOR / ROLE   URL / PORT',
        'traefik           running  healthy                 https://127.0.0.1:8443/',
        'frontend-blue     running  healthy  blue (active)  https://127.0.0.1:8443/',
        'postgres-replica  absent',
      ].join('\n'),
    );
  });

  it.each([
    ['blue', 100, { blue: 100, green: 0 }],
    ['green', 100, { blue: 0, green: 100 }],
    ['blue', 95, { blue: 95, green: 5 }],
  ] as const)('reads the active color from the dynamic config Traefik watches (%s at %i %%)', async (color, percent, weights) => {
    const state = mkdtempSync(join(tmpdir(), 'parity-status-'));
    mkdirSync(join(state, 'traefik', 'dynamic'), { recursive: true });
    writeFileSync(join(state, 'traefik', 'dynamic', 'routes.yml'), renderYaml(traefikDynamicConfig(colorWeights(color, percent)), 'test'));
    expect(await readActiveColor(state)).toEqual({ color, weights });
    rmSync(state, { recursive: true, force: true });
  });

  it('has no active color before the stack was ever started', async () => {
    expect(await readActiveColor(join(tmpdir(), 'parity-no-such-state'))).toBeUndefined();
  });
});
