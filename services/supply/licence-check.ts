/**
 * The licence check: every package read from the npm tree, the stubs' bundles, the Go binaries
 * and the Debian packages of the images, and every catalog image's own licence, judged by the
 * policy. The hard rule: nothing under a denied licence (AGPL, SSPL, BUSL) built into an image.
 */
import type { ImageSpec } from '../images/catalog.js';
import { judgeExpression, type LicenceStanding } from './licences.js';
import type { AcceptedLicence, Outcome, SupplyPolicy } from './policy.js';
import type { CheckReport, Finding } from './report.js';

/** Where a package was found. */
export type LicenceScope = 'npm' | 'bundle' | 'go' | 'debian' | 'image';

/** One package (or image) whose licence is judged. */
export interface LicenceItem {
  readonly scope: LicenceScope;
  readonly name: string;
  readonly version: string;
  /** Catalog images it is built into; empty for the host's node_modules only. */
  readonly images: readonly string[];
  /**
   * The licence as read: an SPDX expression (npm, Go, images). For Debian packages, the
   * denied licences found in the copyright file (empty: none), since Debian main is
   * DFSG-free and only the denied list applies to it.
   */
  readonly licence?: string;
  readonly deniedFound?: readonly string[];
  /** Why the licence couldn't be read; set instead of `licence`. */
  readonly unavailable?: string;
}

type Verdict = LicenceStanding | 'accepted' | 'unavailable';

const POLICY_PREFIX: Record<LicenceScope, string> = { npm: 'npm', bundle: 'npm', go: 'go', debian: 'debian', image: 'image' };

function acceptanceOf(item: LicenceItem, accepted: readonly AcceptedLicence[]): AcceptedLicence | undefined {
  const key = `${POLICY_PREFIX[item.scope]}:${item.name}`;
  return accepted.find((entry) => entry.package === key || (entry.package.endsWith('/*') && key.startsWith(entry.package.slice(0, -1))));
}

function standingOf(item: LicenceItem, policy: SupplyPolicy): LicenceStanding | 'unavailable' {
  if (item.scope === 'debian') {
    if (item.deniedFound === undefined) return 'unavailable';
    return item.deniedFound.length > 0 ? 'denied' : 'allowed';
  }
  if (item.licence === undefined) return 'unavailable';
  return judgeExpression(item.licence, policy.licences);
}

const where = (item: LicenceItem): string => (item.images.length > 0 ? `built into ${item.images.join(', ')}` : 'host node_modules only');

/** One item's verdict and, unless it is simply allowed, the finding that explains it. */
function judgeItem(item: LicenceItem, policy: SupplyPolicy): { verdict: Verdict; finding?: Finding } {
  const subject = `${POLICY_PREFIX[item.scope]}:${item.name}@${item.version}`;
  const standing = standingOf(item, policy);
  if (standing === 'allowed') return { verdict: 'allowed' };
  const accepted = acceptanceOf(item, policy.licences.accepted);
  if (standing === 'denied') {
    const licence = item.deniedFound?.join(', ') ?? item.licence;
    // The rule has no exceptions for what ships in an image; a reviewed exception may cover host-only tooling.
    if (accepted && item.images.length === 0) return { verdict: 'accepted', finding: { outcome: 'report', subject, message: `${licence}, host only, accepted: ${accepted.reason}` } };
    return { verdict: 'denied', finding: { outcome: 'fail', subject, message: `${licence} is denied (licences.denied: ${policy.licences.denied.join(', ')}); ${where(item)}` } };
  }
  if (accepted) return { verdict: 'accepted', finding: { outcome: 'report', subject, message: `accepted as ${accepted.licence}: ${accepted.reason}` } };
  // Unreadable ones are reported together by the caller.
  if (standing === 'unavailable') return { verdict: 'unavailable' };
  const outcome: Outcome = policy.licences.unrecognised;
  const message = `"${item.licence}" is not on licences.allowed; ${where(item)}: review it and list it in licences.accepted (licences.unrecognised: ${outcome})`;
  return { verdict: standing, finding: { outcome, subject, message } };
}

const SCOPE_LABELS: Record<LicenceScope, string> = {
  npm: 'npm tree (node_modules)',
  bundle: 'stubs image bundles',
  go: 'Go modules in images',
  debian: 'Debian packages in images',
  image: 'catalog images',
};

/** MinIO (AGPL-3.0) anywhere in the catalog or in what was read from the images. */
function findMinio(catalog: readonly ImageSpec[], items: readonly LicenceItem[]): Finding[] {
  const inCatalog = catalog.filter((spec) => /minio/i.test(`${spec.name} ${spec.ref} ${spec.source}`)).map((spec) => `catalog image ${spec.name}`);
  // minio-go (the client) is Apache-2.0; the server module is the AGPL one.
  const inImages = items.filter((item) => item.images.length > 0 && /^github\.com\/minio\/minio(\/|$)|^minio$/.test(item.name)).map((item) => `${item.name} in ${item.images.join(', ')}`);
  const found = [...inCatalog, ...inImages];
  return found.length > 0 ? [{ outcome: 'fail', subject: 'MinIO', message: `AGPL-3.0 code built here: ${found.join('; ')}` }] : [];
}

/** The licence check over everything read; `notes` are the runner's findings on what it could not read. */
export function judgeLicences(items: readonly LicenceItem[], catalog: readonly ImageSpec[], policy: SupplyPolicy, notes: readonly Finding[] = []): CheckReport {
  const findings: Finding[] = [...findMinio(catalog, items), ...notes];
  const tally = new Map<LicenceScope, Record<Verdict, number>>();
  // Unreadable ones share a reason per scope: one finding lists them all.
  const unreadable = new Map<string, LicenceItem[]>();
  for (const item of items) {
    const { verdict, finding } = judgeItem(item, policy);
    const counts = tally.get(item.scope) ?? { allowed: 0, accepted: 0, unrecognised: 0, unavailable: 0, denied: 0 };
    counts[verdict]++;
    tally.set(item.scope, counts);
    if (finding) findings.push(finding);
    if (verdict === 'unavailable') {
      const key = `${item.scope}\0${item.unavailable ?? 'no licence found'}`;
      unreadable.set(key, [...(unreadable.get(key) ?? []), item]);
    }
  }
  for (const [key, group] of unreadable) {
    const [scope, reason] = key.split('\0') as [LicenceScope, string];
    const outcome = policy.licences.unavailable;
    const list = group.map((item) => `${item.name}@${item.version} (${item.images.join(', ') || 'host'})`).join(', ');
    findings.push({ outcome, subject: `${POLICY_PREFIX[scope]}: ${group.length} unreadable`, message: `${reason}: ${list} (licences.unavailable: ${outcome})` });
  }
  const counts: [string, string][] = [];
  for (const scope of Object.keys(SCOPE_LABELS) as LicenceScope[]) {
    const c = tally.get(scope);
    if (!c) continue;
    const total = Object.values(c).reduce((sum, n) => sum + n, 0);
    counts.push([SCOPE_LABELS[scope], `${total}: ${c.allowed} allowed, ${c.accepted} accepted, ${c.unrecognised} unrecognised, ${c.unavailable} unreadable, ${c.denied} denied`]);
  }
  counts.push(['MinIO (AGPL) built here', findings.some((f) => f.subject === 'MinIO') ? 'YES' : 'none (provider: minio pulls the upstream image, never built here)']);
  return { check: 'licences', counts, findings };
}
