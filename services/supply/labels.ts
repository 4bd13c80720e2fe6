/**
 * The label check: every catalog image present locally carries the labels the bake sets
 * (`scripts/runners/engine/image-build.ts`, `labelsFor`), with the values the committed lock file
 * (`services/images/images.lock.json`) and, for the project's own images, the source hash say.
 */
import type { ImageSpec } from '../images/catalog.js';
import type { ImageLockEntry } from '../images/resolve.js';
import type { Outcome } from './policy.js';
import type { CheckReport, Finding } from './report.js';

/** What the engine has for one catalog image. */
export interface LocalImage {
  readonly name: string;
  readonly ref: string;
  /** The image ID, when present. */
  readonly id?: string;
  /** Undefined when the image isn't present locally. */
  readonly labels?: Readonly<Record<string, string>>;
  /** How `make images` got this very image (`.parity/images.json`, same image ID), when it recorded it. */
  readonly recorded?: 'local' | 'pulled' | 'build';
}

/**
 * The labels an image built from `entry` must carry. The label names are the bake's
 * (`labelsFor`); the test of this module checks the two agree.
 */
export function expectedLabels(name: string, entry: ImageLockEntry, sourceHash?: string): Record<string, string> {
  return {
    'org.opencontainers.image.version': entry.version,
    'org.opencontainers.image.source': entry.source,
    'org.opencontainers.image.licenses': entry.licence,
    'org.opencontainers.image.ref.name': entry.ref,
    'dev.parity.built-locally': 'true',
    'dev.parity.catalog-name': name,
    ...(sourceHash ? { 'dev.parity.source-hash': sourceHash } : {}),
  };
}

/**
 * The check. `sourceHashes` holds the current hash of each project image's sources (what the
 * bake would label a fresh build with); a stale image shows as a source-hash mismatch.
 */
export function judgeLabels(
  catalog: readonly ImageSpec[],
  lock: Readonly<Record<string, ImageLockEntry>>,
  images: readonly LocalImage[],
  sourceHashes: Readonly<Record<string, string>>,
  unlabelled: Outcome = 'warn',
): CheckReport {
  const findings: Finding[] = [];
  let present = 0;
  let matching = 0;
  let upstream = 0;
  for (const spec of catalog) {
    const entry = lock[spec.name];
    if (!entry) {
      findings.push({ outcome: 'fail', subject: `image ${spec.name}`, message: `the catalog has it but images.lock.json does not: run make lock and commit the file` });
      continue;
    }
    if (entry.ref !== spec.ref) findings.push({ outcome: 'fail', subject: `image ${spec.name}`, message: `images.lock.json pins ${entry.ref} but the catalog says ${spec.ref}: run make lock` });
    const image = images.find((candidate) => candidate.name === spec.name);
    if (!image?.labels) {
      findings.push({ outcome: 'report', subject: `image ${spec.name}`, message: `${spec.ref} is not present locally: nothing to check` });
      continue;
    }
    present++;
    // The project's own images are always built here; any other may come from its publisher.
    if (!spec.project && image.labels['dev.parity.built-locally'] === undefined) {
      upstream++;
      const how = image.recorded === 'pulled' ? 'pulled from upstream by make images' : 'not built here and not recorded as pulled (loaded by hand?)';
      findings.push({ outcome: unlabelled, subject: `image ${spec.name}`, message: `${image.ref} has no bake labels: ${how}; its publisher's labels are not checked (labels.unlabelled: ${unlabelled})` });
      continue;
    }
    const mismatches = Object.entries(expectedLabels(spec.name, entry, sourceHashes[spec.name])).filter(([label, value]) => image.labels?.[label] !== value);
    for (const [label, expected] of mismatches) {
      const found = image.labels[label];
      findings.push({
        outcome: 'fail',
        subject: `image ${spec.name}`,
        message: `${image.ref} label ${label}: expected ${JSON.stringify(expected)}, found ${found === undefined ? 'no such label' : JSON.stringify(found)}` +
          (label === 'dev.parity.source-hash' ? ' (its sources changed since it was built: make images rebuilds it)' : ''),
      });
    }
    if (mismatches.length === 0) matching++;
  }
  for (const name of Object.keys(lock).filter((name) => !catalog.some((spec) => spec.name === name))) {
    findings.push({ outcome: 'fail', subject: `image ${name}`, message: `images.lock.json has it but the catalog does not: run make lock` });
  }
  return {
    check: 'labels',
    counts: [
      ['catalog images', catalog.length],
      ['present locally', present],
      ['labels match the lock', matching],
      ['upstream (no bake labels)', upstream],
      ['mismatched', present - matching - upstream],
    ],
    findings,
  };
}
