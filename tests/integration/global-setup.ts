/**
 * Before any container starts: every catalog image must be present, or the suites would
 * fail one by one with a registry error. Says what to run instead.
 */
import { spawnSync } from 'node:child_process';
import { IMAGE_CATALOG } from '../../services/images/catalog.js';

export default function checkImagesPresent(): void {
  const missing = IMAGE_CATALOG.filter(
    (spec) => spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', spec.ref], { encoding: 'utf8' }).status !== 0,
  ).map((spec) => spec.ref);
  if (missing.length > 0) {
    throw new Error(`integration tests need every catalog image; missing: ${missing.join(', ')}. Run \`make images\` first (make test does).`);
  }
}
