/**
 * Before any container starts: every catalog image must be present, or the suites would
 * fail one by one with a registry error. Says what to run instead.
 */
import { spawnSync } from 'node:child_process';
import { IMAGE_CATALOG } from '../../services/images/catalog.js';

/**
 * After the suites: Ryuk is off, so a container whose start failed (testcontainers leaves it
 * in "created") and networks left by an aborted run would leak. Remove what testcontainers
 * labelled and is not running.
 */
function removeLeftovers(): void {
  const ids = (args: string[]) => spawnSync('docker', args, { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  for (const status of ['created', 'exited', 'dead']) {
    const containers = ids(['ps', '-aq', '--filter', 'label=org.testcontainers=true', '--filter', `status=${status}`]);
    if (containers.length) spawnSync('docker', ['rm', '-f', '-v', ...containers]);
  }
  spawnSync('docker', ['network', 'prune', '-f', '--filter', 'label=org.testcontainers=true']);
}

export default function checkImagesPresent(): () => void {
  const missing = IMAGE_CATALOG.filter(
    (spec) => spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', spec.ref], { encoding: 'utf8' }).status !== 0,
  ).map((spec) => spec.ref);
  if (missing.length > 0) {
    throw new Error(`integration tests need every catalog image; missing: ${missing.join(', ')}. Run \`make images\` first (make test does).`);
  }
  return removeLeftovers;
}
