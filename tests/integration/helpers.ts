import { join } from 'node:path';
import { DockerComposeEnvironment, Wait, type StartedDockerComposeEnvironment } from 'testcontainers';
import { catalogRef } from '../../services/images/catalog.js';
import { done, pending, pollUntil } from '../../scripts/runners/poll.js';

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
export function startComposeStack(project: string, stateDir: string, composeDir = join(import.meta.dirname, '..', '..', 'compose')): Promise<StartedDockerComposeEnvironment> {
  return new DockerComposeEnvironment(composeDir, ['compose.yaml', 'compose.test.yaml'])
    .withProjectName(project)
    .withEnvironment({ PARITY_STATE_DIR: stateDir })
    .withDefaultWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(300_000)
    .up();
}
