#!/usr/bin/env -S npx tsx
/** `make deploy VERSION=x` and `make rollback`: blue/green releases of the platform services. */
import { gateCandidates, type GateCandidate } from './runners/dev/contract-gate.js';
import { DeployInputError, UsageError } from '../services/errors.js';
import { parseServiceImages, versionFromImages } from '../services/deploy/policy.js';
import { abortOnSignals, parseCli, runMain } from './runners/core/cli.js';
import { deploy, rollback } from './runners/deploy/index.js';
import { loadConfig } from './runners/gen/gen.js';
import { createProgress } from './runners/core/progress.js';
import { defaultTarget } from './runners/stack/stack.js';

const HELP = `
Usage: node --import tsx scripts/deploy.ts deploy --version V [--fault F] [--image REF]   (make deploy VERSION=V [FAULT=F] [IMAGE=REF])
       node --import tsx scripts/deploy.ts deploy --services S[,S] --image REF [--version V]   (make deploy SERVICES=events IMAGE=REF)
       node --import tsx scripts/deploy.ts deploy --images S=REF[,S=REF] [--version V]       (make deploy IMAGES=ivor=REF,events=REF)
       node --import tsx scripts/deploy.ts rollback                                        (make rollback)

deploy    starts the idle color with VERSION, passes the gates (L1–L3 /health of every
          service, L4 smoke journeys through Traefik pinned to the idle color), then moves
          traffic 5 % → 25 % → 100 %, judging the new color's error rate and p95 in Prometheus
          (Traefik's metrics) against deploy.* in parity.yaml; drains the old color, and writes a
          report (.parity/deploy/reports/). A failed gate, or Ctrl-C, puts all traffic back on
          the old color, stops the new one, prints which gate failed with its figures (exit 1).
rollback  all traffic back to the other color at once (started first if it was stopped);
          prints how long until only that color answered.

Options:
  --version V   the version label (shown as X-Parity-Version), e.g. 1.4.0
  --fault F     make the new version deliberately bad: error=20% and/or latency=300ms
  --image REF   run the new color on another stubs image (must be in the engine); with
                --services, the image of those services only
  --services S  a per-service deploy: frontend, ivor, events, newsroom (comma-separated); the
                services not named keep what the active color runs
  --images L    a per-service deploy with an image each: events=team/events:1.4,ivor=team/ivor:2.0
                (VERSION defaults to the images' tag when they share one)
A per-service deploy's own images pass the platform contract first (make contract): an image
with a passing run on record goes on; one never checked is checked now (~40 s, recorded); one
that fails is refused before anything changes (exit 1) unless services.<name>.contract is warn.
  -h, --help    show this help
Only one deploy or rollback runs at a time (lock: .parity/deploy/lock).
Exit codes: 0 promoted, 1 rolled back or failed, 2 bad input (nothing changed). make exits 2
for any failure: call this script directly when the code matters (CI).
`;

await runMain(async () => {
  const { values, positionals } = parseCli(process.argv.slice(2), { version: { type: 'string' }, fault: { type: 'string' }, image: { type: 'string' }, services: { type: 'string' }, images: { type: 'string' } }, HELP);
  const [command, ...rest] = positionals;
  if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')} (see --help)`);
  const config = await loadConfig();
  const progress = createProgress('[deploy]');
  const signal = abortOnSignals(progress, 'rolling back');
  const target = defaultTarget();
  // A developer's image reaches users only once it passed the platform contract (run now if never).
  const contractGate = (candidates: readonly GateCandidate[]) => gateCandidates(candidates, config, target.stateDir, progress, signal).then(() => undefined);
  const options = { target, config, progress, signal, contractGate };
  switch (command) {
    case 'deploy': {
      const perService = parseServiceImages({ services: values.services, image: values.image, images: values.images });
      if (perService.problems.length) throw new DeployInputError(perService.problems);
      const images = perService.images;
      const version = values.version || (images ? versionFromImages(images) : undefined) || '';
      // With SERVICES, IMAGE is those services' image, not the stubs'.
      const image = images ? undefined : values.image;
      await deploy({ version, ...(values.fault ? { fault: values.fault } : {}), ...(image ? { image } : {}), ...(images ? { images } : {}) }, options);
      return;
    }
    case 'rollback':
      await rollback(options);
      return;
    default:
      throw new UsageError(`expected a command, deploy or rollback (got ${command ? `"${command}"` : 'none'}); see --help`);
  }
});
