#!/usr/bin/env -S npx tsx
/** `make supply-chain`: npm audit, licences and image labels against the written policy. */
import { resolve } from 'node:path';
import { exitCodeOf, formatCheck, type CheckName } from '../services/supply/report.js';
import { parseCli, runMain } from './runners/core/cli.js';
import { createProgress } from './runners/core/progress.js';
import { DEFAULT_POLICY_PATH, runSupplyChain } from './runners/supply/supply-chain.js';

const HELP = `
Usage: make supply-chain
       npx tsx scripts/supply-chain.ts [--json] [--policy FILE]

Three checks, judged by the policy file (supply-chain.policy.yaml), needing no registry:
  audit     npm audit --json: production advisories by severity, accepted ones with their expiry
  licences  the npm tree, the stubs image's bundled packages, the Go modules in the images
            built from Go sources, the Debian packages in every local catalog image: no AGPL,
            SSPL or BUSL built into an image; unknowns listed with the policy's decision
  labels    every catalog image present locally carries the bake's labels, matching
            services/images/images.lock.json (and, for the project's images, their sources)

Exit codes: 0 all rules kept (warnings allowed), 1 a rule broken, 2 bad input (the policy).

Options:
  --json          the three reports as JSON on stdout
  --policy FILE   another policy file
  -h, --help      show this help
`;

const TITLES: Record<CheckName, string> = { audit: 'npm audit', licences: 'licences', labels: 'image labels vs images.lock.json' };

await runMain(async () => {
  const { values } = parseCli(process.argv.slice(2), { json: { type: 'boolean' }, policy: { type: 'string' } }, HELP);
  const started = Date.now();
  const reports = await runSupplyChain({
    policyPath: values.policy ? resolve(values.policy) : DEFAULT_POLICY_PATH,
    progress: createProgress('[supply-chain]'),
  });
  const code = exitCodeOf(reports);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ok: code === 0, elapsedMs: Date.now() - started, checks: reports }, null, 2)}\n`);
  } else {
    process.stdout.write(`${reports.map((report) => formatCheck(report, TITLES[report.check])).join('\n\n')}\n`);
    process.stdout.write(`\nsupply chain: ${code === 0 ? 'ok' : 'rules broken (exit 1)'} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
  process.exitCode = code;
});
