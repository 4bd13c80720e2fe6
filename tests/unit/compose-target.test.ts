/** The engine seam knows nothing of deploys: the deploy state is wired into a target by the stack, and read at each compose call. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { initialDeployState } from '../../services/deploy/policy.js';
import { composeCommand } from '../../scripts/runners/clients/compose.js';
import type { ComposeTarget } from '../../scripts/runners/clients/engine.js';
import { withDeployedImages, writeDeployState } from '../../scripts/runners/stack/deploy-state.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('compose targets and the deploy state', () => {
  const target = (): ComposeTarget => {
    const stateDir = mkdtempSync(join(tmpdir(), 'parity-target-'));
    dirs.push(stateDir);
    return { project: 'p', composeDir: '/nowhere', stateDir };
  };

  it('GIVEN a bare target THEN compose gets no color image, whatever the state says', async () => {
    const bare = target();
    const state = initialDeployState('blue');
    await writeDeployState(bare.stateDir, { ...state, colors: { ...state.colors, green: { version: '2.0.0', image: 'parity/stubs:2.0.0' } } });
    expect(composeCommand(bare, ['ps']).env.PARITY_IMAGE_GREEN).toBeUndefined();
  });

  it('GIVEN a wired target THEN each compose call reads the images as they are then (a deploy writes a new one before it starts the color)', async () => {
    const wired = withDeployedImages(target());
    expect(composeCommand(wired, ['ps']).env.PARITY_IMAGE_GREEN).toBeUndefined();
    const state = initialDeployState('blue');
    await writeDeployState(wired.stateDir, { ...state, colors: { ...state.colors, green: { version: '2.0.0', image: 'parity/stubs:2.0.0' } } });
    expect(composeCommand(wired, ['up', '-d']).env).toMatchObject({ PARITY_IMAGE_GREEN: 'parity/stubs:2.0.0', PARITY_STATE_DIR: wired.stateDir });
    expect(composeCommand(wired, ['ps']).env.PARITY_IMAGE_BLUE).toBeUndefined();
    expect(withDeployedImages(wired)).toBe(wired);
  });
});
