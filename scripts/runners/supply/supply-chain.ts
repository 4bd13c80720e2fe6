/**
 * `make supply-chain`: npm audit, the licence check and the image labels, each judged by
 * `services/supply` against the policy file and the lock file. Reads this machine only.
 */
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { IMAGE_CATALOG, type ImageSpec } from '../../../services/images/catalog.js';
import type { ImageLockEntry } from '../../../services/images/resolve.js';
import { judgeAudit } from '../../../services/supply/audit.js';
import { judgeLabels } from '../../../services/supply/labels.js';
import { judgeLicences } from '../../../services/supply/licence-check.js';
import { parseSupplyPolicy, SupplyPolicyError, type SupplyPolicy } from '../../../services/supply/policy.js';
import type { CheckReport } from '../../../services/supply/report.js';
import { hashSources } from '../engine/image-build.js';
import type { Progress } from '../core/progress.js';
import { repoRoot } from '../core/state.js';
import { inspectCatalogImages, readImageLicences, readLockPackages, readNpmTree, runNpmAudit } from './supply-collect.js';

export const DEFAULT_POLICY_PATH = join(repoRoot, 'supply-chain.policy.yaml');
const LOCK_PATH = join(repoRoot, 'services', 'images', 'images.lock.json');

export interface SupplyChainOptions {
  /** The policy file. @default supply-chain.policy.yaml at the repository root */
  readonly policyPath?: string;
  /** Day the audit acceptances are compared with (`YYYY-MM-DD`). @default today, UTC */
  readonly today?: string;
  readonly progress: Progress;
  /** For tests: another catalog. @default IMAGE_CATALOG */
  readonly catalog?: readonly ImageSpec[];
}

/** The policy file, parsed; an unreadable file is bad input (exit 2) like a malformed one. */
export async function loadSupplyPolicy(path: string): Promise<SupplyPolicy> {
  const inside = relative(process.cwd(), path);
  const shown = inside && !inside.startsWith('..') ? inside : path;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new SupplyPolicyError(shown, '(file)', `expected a readable policy file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return parseSupplyPolicy(text, shown);
}

async function timed(work: () => Promise<CheckReport>): Promise<CheckReport> {
  const started = Date.now();
  const report = await work();
  return { ...report, elapsedMs: Date.now() - started };
}

/** The three checks; the policy is read first so a bad one stops the run before any work. */
export async function runSupplyChain(options: SupplyChainOptions): Promise<CheckReport[]> {
  const policy = await loadSupplyPolicy(options.policyPath ?? DEFAULT_POLICY_PATH);
  const catalog = options.catalog ?? IMAGE_CATALOG;
  const today = options.today ?? new Date().toISOString().slice(0, 10);
  const lockPackages = await readLockPackages();
  const { progress } = options;

  const local = await inspectCatalogImages(catalog);

  progress.step('npm audit');
  // npm talks to the registry while the image checks use the engine: both at once.
  const auditReport = timed(async () => judgeAudit(await runNpmAudit(), lockPackages, policy, today));

  const labels = await timed(async () => {
    progress.step('image labels');
    const lock = JSON.parse(await readFile(LOCK_PATH, 'utf8')) as Record<string, ImageLockEntry>;
    const hashes: Record<string, string> = {};
    for (const spec of catalog) if (spec.project) hashes[spec.name] = await hashSources(spec.project.sources);
    return judgeLabels(catalog, lock, local, hashes, policy.labels.unlabelled);
  });

  const licences = await timed(async () => {
    const present = local.filter((image) => image.labels);
    progress.step('licences: npm tree');
    const items = [...(await readNpmTree(lockPackages))];
    progress.step(`licences: what is built into ${present.length} images`);
    const inImages = await readImageLicences(present, catalog, join(repoRoot, 'services', 'images'), policy.licences);
    const images = catalog.filter((spec) => present.some((image) => image.name === spec.name));
    items.push(...inImages.items);
    for (const spec of images) items.push({ scope: 'image', name: spec.name, version: spec.version, images: [spec.name], licence: spec.licence });
    return judgeLicences(items, catalog, policy, inImages.notes);
  });
  const audit = await auditReport;
  progress.done();
  return [audit, licences, labels];
}
