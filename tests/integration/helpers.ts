import { join } from 'node:path';
import { DockerComposeEnvironment, Wait, type StartedDockerComposeEnvironment } from 'testcontainers';
import { catalogRef } from '../../services/images/catalog.js';

/** The catalog reference of an image, so tests run exactly what the bake produced. */
export const imageRef = catalogRef;

/** Retry `probe` until it resolves, or rethrow its last error after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T>, timeoutMs = 30_000, intervalMs = 500): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() - started > timeoutMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/**
 * The generated stack (compose.yaml + the ephemeral-port test overlay) under its own project
 * name and state directory, every service healthy.
 */
export function startComposeStack(project: string, stateDir: string, composeDir = join(import.meta.dirname, '..', '..', 'compose')): Promise<StartedDockerComposeEnvironment> {
  return new DockerComposeEnvironment(composeDir, ['compose.yaml', 'compose.test.yaml'])
    .withProjectName(project)
    .withEnvironment({ PARITY_STATE_DIR: stateDir })
    .withDefaultWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(300_000)
    .up();
}
