/**
 * Which engine runs a target: the one place that knows every implementation of the seam
 * (clients/engine.ts). Compose today; a Swarm target is chosen here too.
 */
import { composeEngine } from './compose.js';
import type { ComposeTarget, Engine } from './engine.js';

const engines = new WeakMap<ComposeTarget, Engine>();

/** The engine a target runs on (one per target object). */
export function engineOf(target: ComposeTarget): Engine {
  let engine = engines.get(target);
  if (!engine) {
    engine = composeEngine(target);
    engines.set(target, engine);
  }
  return engine;
}
