/** Drift check: does compose/ hold exactly what the model renders for this config? */
import type { ParityConfig } from '../../../services/config/schema.js';
import { renderOutput } from '../../../services/render/compose.js';
import { COMPOSE_DIR } from './gen.js';
import { diffOutput } from '../core/output.js';

/** Differences as lines: `changed X`, `missing X`, `extra X`. Empty when in sync. */
export async function checkDrift(config: ParityConfig, dir = COMPOSE_DIR): Promise<string[]> {
  const differences = await diffOutput(renderOutput(config), dir);
  return differences.filter(({ status }) => status !== 'unchanged').map(({ status, path }) => `${status} ${path}`);
}
