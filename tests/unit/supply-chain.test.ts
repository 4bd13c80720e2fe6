import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliSync } from '../cli.js';
import { describe, expect, it } from 'vitest';
import { IMAGE_CATALOG, type ImageSpec } from '../../services/images/catalog.js';
import { renderImageLock } from '../../services/images/resolve.js';
import { judgeAudit, readAuditOutput, type AuditAnswer } from '../../services/supply/audit.js';
import { expectedLabels, judgeLabels } from '../../services/supply/labels.js';
import { judgeLicences, type LicenceItem } from '../../services/supply/licence-check.js';
import {
  builtBinaries,
  classifyLicenceText,
  deniedInCopyright,
  escapeModulePath,
  judgeExpression,
  npmLicence,
  packageOfSource,
  parseDpkgStatus,
  parseGoVersionM,
} from '../../services/supply/licences.js';
import { parseSupplyPolicy, SupplyPolicyError, type SupplyPolicy } from '../../services/supply/policy.js';
import { exitCodeOf, formatCheck } from '../../services/supply/report.js';
import { labelsFor } from '../../scripts/runners/engine/image-build.js';

const root = join(import.meta.dirname, '..', '..');
const POLICY_TEXT = readFileSync(join(root, 'supply-chain.policy.yaml'), 'utf8');
const policy: SupplyPolicy = parseSupplyPolicy(POLICY_TEXT, 'supply-chain.policy.yaml');
const lists = policy.licences;

describe('the policy file', () => {
  it('GIVEN the committed policy WHEN parsed THEN high and critical fail, moderate needs a listed acceptance, an unreachable audit warns', () => {
    expect(policy.audit.severities).toEqual({ critical: 'fail', high: 'fail', moderate: 'accept-listed', low: 'report', info: 'report' });
    expect(policy.audit.unreachable).toBe('warn');
    expect(policy.audit.devOnly).toBe('report');
    expect(policy.licences.denied).toEqual(['AGPL', 'SSPL', 'BUSL']);
    expect(policy.labels.unlabelled).toBe('warn');
    const withoutLabels = POLICY_TEXT.replace(/^labels:\n( {2}.*\n|\n)*/m, '');
    expect(withoutLabels).not.toContain('unlabelled:');
    expect(parseSupplyPolicy(withoutLabels, 'p.yaml').labels.unlabelled).toBe('warn');
  });

  const bad = (text: string): string => {
    try {
      parseSupplyPolicy(text, 'p.yaml');
    } catch (error) {
      expect(error).toBeInstanceOf(SupplyPolicyError);
      expect((error as SupplyPolicyError).exitCode).toBe(2);
      return (error as Error).message;
    }
    throw new Error('expected SupplyPolicyError');
  };

  it('GIVEN a bad field WHEN parsed THEN the error names the file, the field and the expectation', () => {
    expect(bad(POLICY_TEXT.replace('high: fail', 'high: maybe'))).toBe('p.yaml: audit.severities.high: expected one of fail, accept-listed, report, found "maybe"');
    expect(bad(POLICY_TEXT.replace('accepted: []', 'accepted: [{ advisory: GHSA-1, reason: r, expires: soon }]'))).toBe(
      'p.yaml: audit.accepted[0].expires: expected a date like 2027-01-31, found "soon"',
    );
    expect(bad(POLICY_TEXT.replace('  denied: [AGPL, SSPL, BUSL]', '  denied: AGPL'))).toBe('p.yaml: licences.denied: expected a list of non-empty strings, found "AGPL"');
    expect(bad(POLICY_TEXT.replace('package: image:debian', 'package: debian'))).toBe(
      'p.yaml: licences.accepted[0].package: expected npm:<name>, go:<module>, debian:<package> or image:<catalog name>, found "debian"',
    );
    expect(bad('version: 2\n')).toBe('p.yaml: version: expected one of 1, found "2"');
    expect(bad('- a list\n')).toBe('p.yaml: (file): expected a mapping');
    expect(bad('audit: [\n')).toMatch(/^p\.yaml: \(file\): expected YAML \(/);
  });

  it('GIVEN an unreadable policy file WHEN the CLI runs THEN exit 2 before any work, naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parity-supply-test-'));
    try {
      const missing = join(dir, 'none.yaml');
      const result = runCliSync('supply-chain.ts', ['--policy', missing], { ...process.env, CI: '1' });
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(`✖ SupplyPolicyError: ${missing}: (file): expected a readable policy file (ENOENT)`);
      writeFileSync(join(dir, 'bad.yaml'), POLICY_TEXT.replace('unreachable: warn', 'unreachable: shrug'));
      const malformed = runCliSync('supply-chain.ts', ['--policy', join(dir, 'bad.yaml')], { ...process.env, CI: '1' });
      expect(malformed.status).toBe(2);
      expect(malformed.stderr).toContain(`${join(dir, 'bad.yaml')}: audit.unreachable: expected one of fail, warn, report, found "shrug"`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('licence facts', () => {
  it('GIVEN SPDX expressions WHEN judged THEN OR takes the best side, AND the worst, denied prefixes win', () => {
    expect(judgeExpression('MIT', lists)).toBe('allowed');
    expect(judgeExpression('(MIT AND Zlib)', lists)).toBe('allowed');
    expect(judgeExpression('(MIT OR GPL-3.0)', lists)).toBe('allowed');
    expect(judgeExpression('MIT AND GPL-3.0', lists)).toBe('unrecognised');
    expect(judgeExpression('AGPL-3.0-only', lists)).toBe('denied');
    expect(judgeExpression('(AGPL-3.0 OR MIT)', lists)).toBe('allowed');
    expect(judgeExpression('MIT AND (SSPL-1.0 OR BUSL-1.1)', lists)).toBe('denied');
    expect(judgeExpression('Apache-2.0 WITH LLVM-exception', lists)).toBe('allowed');
    expect(judgeExpression('', lists)).toBe('unrecognised');
  });

  it('GIVEN package.json forms WHEN read THEN the licence string, object or old array comes back', () => {
    expect(npmLicence({ license: 'MIT' })).toBe('MIT');
    expect(npmLicence({ license: { type: 'ISC' } })).toBe('ISC');
    expect(npmLicence({ licenses: [{ type: 'MIT' }] })).toBe('MIT');
    expect(npmLicence({ licenses: [{ type: 'MIT' }, { type: 'Apache-2.0' }] })).toBe('(MIT OR Apache-2.0)');
    expect(npmLicence({})).toBeUndefined();
  });

  it('GIVEN licence texts WHEN classified THEN titles near the top decide, so GPL-3.0 citing the Affero licence stays GPL-3.0', () => {
    expect(classifyLicenceText('MIT License\n\nPermission is hereby granted, free of charge, to any person')).toBe('MIT');
    expect(classifyLicenceText('ISC License\n\nCopyright (c) 2012 Dave\n\nPermission to use, copy, modify, and/or distribute this software for any purpose')).toBe('ISC');
    expect(classifyLicenceText('                                 Apache License\n                           Version 2.0, January 2004')).toBe('Apache-2.0');
    expect(classifyLicenceText('GNU AFFERO GENERAL PUBLIC LICENSE\n Version 3, 19 November 2007')).toBe('AGPL-3.0');
    const gpl3 = `GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n${'x '.repeat(400)}\n13. Use with the GNU Affero General Public License.`;
    expect(classifyLicenceText(gpl3)).toBe('GPL-3.0');
    expect(classifyLicenceText('Mozilla Public License Version 2.0\n... GNU General Public License ...')).toBe('MPL-2.0');
    expect(classifyLicenceText('Copyright 2020\nRedistribution and use in source and binary forms ... Neither the name of Google')).toBe('BSD-3-Clause');
    expect(classifyLicenceText('Server Side Public License\nVERSION 1')).toBe('SSPL-1.0');
    expect(classifyLicenceText('all rights reserved')).toBeUndefined();
  });

  it('GIVEN Debian copyright files WHEN scanned THEN denied licences are found in DEP-5 fields or, otherwise, in the text', () => {
    const dep5 = 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+ or Artistic\n\nFiles: web/*\nLicense: AGPL-3+\n';
    expect(deniedInCopyright(dep5, lists)).toEqual(['AGPL-3+']);
    expect(deniedInCopyright(dep5.replace('AGPL-3+', 'Expat'), lists)).toEqual([]);
    expect(deniedInCopyright('This package is under the GNU Affero General Public License v3.', lists)).toEqual(['AGPL-3.0']);
    expect(deniedInCopyright('See /usr/share/common-licenses/GPL-2.', lists)).toEqual([]);
  });

  it('GIVEN a dpkg status file WHEN parsed THEN only installed packages come back, with their versions', () => {
    const status = [
      'Package: gosu\nStatus: install ok installed\nVersion: 1.14-1+b10\n',
      'Package: old\nStatus: deinstall ok config-files\nVersion: 1.0\n',
      'Package: libc6\nStatus: install ok installed\nMulti-Arch: same\nVersion: 2.36-9+deb12u13\nDescription: GNU C Library\n shared libraries\n',
    ].join('\n');
    expect([...parseDpkgStatus(status)]).toEqual([['gosu', '1.14-1+b10'], ['libc6', '2.36-9+deb12u13']]);
  });

  it('GIVEN go version -m output WHEN parsed THEN the main module, its deps and replacements come back', () => {
    const output = [
      '/tmp/traefik: go1.26.8',
      '\tpath\tgithub.com/traefik/traefik/v3/cmd/traefik',
      '\tmod\tgithub.com/traefik/traefik/v3\t(devel)\t',
      '\tdep\tgithub.com/BurntSushi/toml\tv1.5.0\th1:x=',
      '\tdep\tgithub.com/abbot/go-http-auth\tv0.0.0-00010101000000-000000000000',
      '\t=>\tgithub.com/containous/go-http-auth\tv0.4.1-0.20200324110947-a37a7636d23e\th1:y=',
      '\tbuild\t-trimpath=true',
    ].join('\n');
    expect(parseGoVersionM(output)).toEqual([
      { path: 'github.com/traefik/traefik/v3', version: '(devel)', main: true },
      { path: 'github.com/BurntSushi/toml', version: 'v1.5.0', main: false },
      { path: 'github.com/containous/go-http-auth', version: 'v0.4.1-0.20200324110947-a37a7636d23e', main: false },
    ]);
    expect(escapeModulePath('github.com/BurntSushi/toml')).toBe('github.com/!burnt!sushi/toml');
  });

  it('GIVEN source map paths WHEN read THEN the innermost package and its folder come back', () => {
    expect(packageOfSource('../../../node_modules/fastify/lib/route.js')).toEqual({ name: 'fastify', dir: 'node_modules/fastify' });
    expect(packageOfSource('../../node_modules/a/node_modules/@b/c/x.js')).toEqual({ name: '@b/c', dir: 'node_modules/a/node_modules/@b/c' });
    expect(packageOfSource('../../../stubs/src/ivor.ts')).toBeUndefined();
  });

  it('GIVEN the Go-built images\' Dockerfiles WHEN read THEN the binaries copied from the build stage come back', () => {
    const dockerfile = (name: string): string => readFileSync(join(root, 'services', 'images', name, 'Dockerfile'), 'utf8');
    expect(builtBinaries(dockerfile('traefik'))).toEqual(['/usr/local/bin/traefik']);
    expect(builtBinaries(dockerfile('seaweedfs'))).toEqual(['/usr/bin/weed']);
    expect(builtBinaries(dockerfile('toxiproxy'))).toEqual(['/toxiproxy', '/toxiproxy-cli']);
    expect(builtBinaries('COPY --from=build /out/a /out/b /usr/bin/')).toEqual(['/usr/bin/a', '/usr/bin/b']);
  });
});

describe('the audit check', () => {
  const TODAY = '2026-11-28';
  const lock = { 'node_modules/fastify': {}, 'node_modules/vitest': { dev: true }, 'node_modules/esbuild': { dev: true } };
  const report = (severity: string, name = 'fastify', id = 'GHSA-aaaa-bbbb-cccc'): AuditAnswer => ({
    kind: 'report',
    report: { vulnerabilities: { [name]: { nodes: [`node_modules/${name}`], via: [{ source: 1, url: `https://github.com/advisories/${id}`, title: 'a flaw', severity }] } } },
  });
  const withAccepted = (expires: string): SupplyPolicy => ({ ...policy, audit: { ...policy.audit, accepted: [{ advisory: 'GHSA-aaaa-bbbb-cccc', reason: 'no fix yet; not reachable from our routes', expires }] } });
  const outcomes = (answer: AuditAnswer, p = policy) => judgeAudit(answer, lock, p, TODAY).findings.map((f) => `${f.outcome} ${f.subject}: ${f.message}`);

  it('GIVEN npm answering 405 (a mirror without the audit API) WHEN read THEN unreachable, and the policy warns', () => {
    const stdout = JSON.stringify({ message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk', statusCode: 405 });
    const answer = readAuditOutput(stdout);
    expect(answer).toEqual({ kind: 'unreachable', reason: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk' });
    expect(outcomes(answer)).toEqual([
      'warn npm audit: the audit endpoint could not be used (405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk); no advisories were checked (audit.unreachable: warn)',
    ]);
    expect(readAuditOutput('')).toEqual({ kind: 'unreachable', reason: 'npm audit printed nothing' });
  });

  it('GIVEN advisories WHEN judged THEN high fails in production, moderate needs an unexpired acceptance, dev-only is reported', () => {
    expect(outcomes(report('high'))).toEqual(['fail GHSA-aaaa-bbbb-cccc (fastify, high): a flaw; production dependency; high fails (audit.severities.high: fail), fix or upgrade it']);
    expect(outcomes(report('moderate'))).toEqual([
      'fail GHSA-aaaa-bbbb-cccc (fastify, moderate): a flaw; production dependency; moderate needs an entry in audit.accepted with a reason and an expiry date',
    ]);
    expect(outcomes(report('moderate'), withAccepted('2026-11-28'))).toEqual([
      'report GHSA-aaaa-bbbb-cccc (fastify, moderate): a flaw; accepted until 2026-11-28: no fix yet; not reachable from our routes',
    ]);
    expect(outcomes(report('moderate'), withAccepted('2026-11-27'))).toEqual([
      'fail GHSA-aaaa-bbbb-cccc (fastify, moderate): a flaw; its acceptance expired on 2026-11-27 (reason was: no fix yet; not reachable from our routes); fix it or renew the entry',
    ]);
    expect(outcomes(report('critical', 'vitest'))).toEqual([
      'report GHSA-aaaa-bbbb-cccc (vitest, critical): a flaw; dev dependencies only, never built into an image (audit.devOnly: report)',
    ]);
    expect(outcomes({ kind: 'report', report: { vulnerabilities: {} } }, withAccepted('2027-01-01'))).toEqual([
      'warn GHSA-aaaa-bbbb-cccc: listed in audit.accepted but no longer reported by npm audit: remove the entry',
    ]);
  });
});

describe('the licence check', () => {
  const item = (overrides: Partial<LicenceItem>): LicenceItem => ({ scope: 'go', name: 'example.com/m', version: 'v1.0.0', images: ['traefik'], licence: 'MIT', ...overrides });
  const judge = (items: LicenceItem[], catalog: readonly ImageSpec[] = IMAGE_CATALOG, p = policy) => judgeLicences(items, catalog, p);

  it('GIVEN AGPL code in an image WHEN judged THEN it fails, even when the policy lists it as accepted', () => {
    const accepted: SupplyPolicy = { ...policy, licences: { ...policy.licences, accepted: [{ package: 'go:example.com/m', licence: 'AGPL-3.0', reason: 'please' }] } };
    const report = judge([item({ licence: 'AGPL-3.0' })], IMAGE_CATALOG, accepted);
    expect(report.findings).toEqual([{ outcome: 'fail', subject: 'go:example.com/m@v1.0.0', message: 'AGPL-3.0 is denied (licences.denied: AGPL, SSPL, BUSL); built into traefik' }]);
    expect(exitCodeOf([report])).toBe(1);
  });

  it('GIVEN a Debian package whose copyright names AGPL WHEN judged THEN it fails', () => {
    expect(judge([item({ scope: 'debian', name: 'somed', licence: undefined, deniedFound: ['AGPL-3+'] })]).findings[0]!.message).toBe(
      'AGPL-3+ is denied (licences.denied: AGPL, SSPL, BUSL); built into traefik',
    );
  });

  it('GIVEN MinIO added to the catalog WHEN judged THEN the check fails and says where', () => {
    const minio = { ...IMAGE_CATALOG.find((spec) => spec.name === 'seaweedfs')!, name: 'minio', ref: 'minio/minio:RELEASE.2025-04-22T22-12-26Z', source: 'go:github.com/minio/minio@v0.0.0', licence: 'AGPL-3.0' };
    const report = judge([item({ name: 'github.com/minio/minio', licence: 'AGPL-3.0', images: ['minio'] })], [...IMAGE_CATALOG, minio]);
    expect(report.findings[0]).toEqual({ outcome: 'fail', subject: 'MinIO', message: 'AGPL-3.0 code built here: catalog image minio; github.com/minio/minio in minio' });
    expect(report.counts.at(-1)).toEqual(['MinIO (AGPL) built here', 'YES']);
  });

  it('GIVEN the real catalog WHEN judged THEN no MinIO is built here', () => {
    expect(judge([]).counts.at(-1)).toEqual(['MinIO (AGPL) built here', 'none (provider: minio pulls the upstream image, never built here)']);
  });

  it('GIVEN unrecognised, accepted and unreadable licences WHEN judged THEN fail, report and one grouped warning', () => {
    const report = judge([
      item({ name: 'example.com/odd', licence: 'WTFPL' }),
      item({ name: 'github.com/nrdcg/oci-go-sdk/dns/v1065', licence: undefined, unavailable: 'the module has no licence file' }),
      item({ scope: 'debian', name: 'gosu', licence: undefined, unavailable: 'not on this host' }),
      item({ scope: 'debian', name: 'rclone', licence: undefined, unavailable: 'not on this host', images: ['patroni'] }),
      item({ scope: 'npm', name: 'left-pad', images: [] }),
    ]);
    expect(report.findings.map((f) => `${f.outcome} ${f.subject}: ${f.message}`)).toEqual([
      'fail go:example.com/odd@v1.0.0: "WTFPL" is not on licences.allowed; built into traefik: review it and list it in licences.accepted (licences.unrecognised: fail)',
      'report go:github.com/nrdcg/oci-go-sdk/dns/v1065@v1.0.0: accepted as UPL-1.0 OR Apache-2.0: Traefik\'s OCI DNS provider; the module zips carry no licence file, the repository\'s LICENSE.txt is Oracle\'s dual UPL-1.0/Apache-2.0',
      'warn debian: 2 unreadable: not on this host: gosu@v1.0.0 (traefik), rclone@v1.0.0 (patroni) (licences.unavailable: warn)',
    ]);
    expect(report.counts[0]).toEqual(['npm tree (node_modules)', '1: 1 allowed, 0 accepted, 0 unrecognised, 0 unreadable, 0 denied']);
    expect(formatCheck(report, 'licences').split('\n')[0]).toBe('licences: FAIL (1)');
  });
});

describe('the label check', () => {
  const lock = renderImageLock(IMAGE_CATALOG);
  const hashes = { stubs: 'abc123', patroni: 'def456', etcd: '0123ff' };
  const labelled = (spec: ImageSpec) => ({ name: spec.name, ref: spec.ref, labels: Object.fromEntries(labelsFor(spec, hashes[spec.name as keyof typeof hashes]).map((label) => label.split(/=(.*)/s).slice(0, 2))) });

  it('GIVEN the bake\'s labels WHEN compared with what the check expects THEN they are the same set and values', () => {
    for (const spec of IMAGE_CATALOG) expect(labelled(spec).labels).toEqual(expectedLabels(spec.name, lock[spec.name]!, hashes[spec.name as keyof typeof hashes]));
  });

  it('GIVEN every image as the bake labels it WHEN judged THEN all match', () => {
    const report = judgeLabels(IMAGE_CATALOG, lock, IMAGE_CATALOG.map(labelled), hashes);
    expect(report.findings).toEqual([]);
    expect(report.counts).toEqual([
      ['catalog images', IMAGE_CATALOG.length],
      ['present locally', IMAGE_CATALOG.length],
      ['labels match the lock', IMAGE_CATALOG.length],
      ['upstream (no bake labels)', 0],
      ['mismatched', 0],
    ]);
  });

  it('GIVEN upstream images without the bake\'s labels WHEN judged THEN the policy decides, saying how each got here; the project\'s own images are always checked', () => {
    const upstream = (name: string, recorded?: 'pulled') => ({ name, ref: IMAGE_CATALOG.find((spec) => spec.name === name)!.ref, labels: { 'org.opencontainers.image.version': '3.6.12' }, ...(recorded ? { recorded } : {}) });
    const images = [...IMAGE_CATALOG.filter((spec) => !['traefik', 'debian', 'etcd'].includes(spec.name)).map(labelled), upstream('traefik', 'pulled'), upstream('debian'), upstream('etcd')];
    const report = judgeLabels(IMAGE_CATALOG, lock, images, hashes, 'warn');
    expect(report.findings.map((f) => `${f.outcome} ${f.subject}: ${f.message}`)).toEqual([
      'warn image debian: debian:bookworm-slim has no bake labels: not built here and not recorded as pulled (loaded by hand?); its publisher\'s labels are not checked (labels.unlabelled: warn)',
      'warn image traefik: traefik:v3.6.12 has no bake labels: pulled from upstream by make images; its publisher\'s labels are not checked (labels.unlabelled: warn)',
      'fail image etcd: parity/etcd:3.4.23 label org.opencontainers.image.version: expected "3.4.23", found "3.6.12"',
      ...['org.opencontainers.image.source', 'org.opencontainers.image.licenses', 'org.opencontainers.image.ref.name', 'dev.parity.built-locally', 'dev.parity.catalog-name', 'dev.parity.source-hash'].map(
        (label) => expect.stringMatching(new RegExp(`^fail image etcd: parity/etcd:3\\.4\\.23 label ${label.replace(/\./g, '\\.')}: expected ".*", found no such label`)),
      ),
    ]);
    expect(report.counts.slice(2)).toEqual([['labels match the lock', 14], ['upstream (no bake labels)', 2], ['mismatched', 1]]);
    expect(judgeLabels(IMAGE_CATALOG, lock, images, hashes, 'fail').findings[0]!.outcome).toBe('fail');
  });

  it('GIVEN a wrong version, a stale stubs image, an absent image and a lock without an entry WHEN judged THEN each is named with expected and found', () => {
    const images = IMAGE_CATALOG.filter((spec) => spec.name !== 'haproxy').map(labelled);
    const traefik = images.find((image) => image.name === 'traefik')!;
    traefik.labels['org.opencontainers.image.version'] = 'v3.7.0';
    const stubs = images.find((image) => image.name === 'stubs')!;
    delete stubs.labels['dev.parity.source-hash'];
    const { redis: _redis, ...partialLock } = lock;
    const report = judgeLabels(IMAGE_CATALOG, partialLock, images, hashes);
    expect(report.findings.map((f) => `${f.outcome} ${f.subject}: ${f.message}`)).toEqual([
      'fail image stubs: parity/stubs:1.0.0 label dev.parity.source-hash: expected "abc123", found no such label (its sources changed since it was built: make images rebuilds it)',
      'fail image redis: the catalog has it but images.lock.json does not: run make lock and commit the file',
      'fail image traefik: traefik:v3.6.12 label org.opencontainers.image.version: expected "v3.6.12", found "v3.7.0"',
      'report image haproxy: haproxy:2.6.12 is not present locally: nothing to check',
    ]);
    expect(exitCodeOf([report])).toBe(1);
  });
});

