/** The end of `make up`: what to open first, how to trust the CA, and the demo accounts. */
import type { ParityConfig } from '../../../services/config/schema.js';
import { ADMIN_EMAIL } from '../../../services/topology/apps.js';
import { describeAccounts, type StackSeedResult } from './seed.js';
import type { UpResult } from './stack.js';

export function describeFirstSteps(config: ParityConfig, up: UpResult, seeded: StackSeedResult | undefined): string {
  const origin = `https://localhost:${config.ports.https}`;
  const url = (service: string) => up.status.rows.find((row) => row.service === service)?.url;
  const open = [
    ['the home page', `${origin}/`],
    ['admin', `${origin}/admin (log in as ${ADMIN_EMAIL}; password in .parity/secrets/admin_password)`],
    ['Prometheus', url('prometheus')],
    ['Grafana', url('grafana')],
  ].filter((entry): entry is [string, string] => Boolean(entry[1]));
  return [
    'Open first:',
    ...open.map(([what, where]) => `  ${what.padEnd(14)} ${where}`),
    `TLS: trust the local CA to avoid warnings: ${up.caFile}  (e.g. curl --cacert ${up.caFile} ${origin}/)`,
    ...(seeded ? [describeAccounts(seeded)] : [config.demo ? '  demo data: not loaded (see the warning above); make seed loads it' : '  demo data: off (parity.yaml demo: false); make seed loads it']),
  ].join('\n');
}
