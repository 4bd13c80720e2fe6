#!/usr/bin/env -S npx tsx
/** `make contract SERVICE=events [IMAGE=ref]`: the platform contract, checked against a candidate on an isolated copy of its dependencies. */
import { ContractFailedError, UsageError } from '../services/errors.js';
import { contractAuditEntry, contractPassed, renderContractSummary } from '../services/render/contract-report.js';
import { createDeployAudit } from './runners/clients/audit.js';
import { engineOf } from './runners/clients/engine-of.js';
import { defaultTarget } from './runners/stack/stack.js';
import { clauseHolds } from '../services/contracts/platform-contract.js';
import { abortOnSignals, parseCli, runMain } from './runners/core/cli.js';
import { createProgress } from './runners/core/progress.js';
import { parseContractRequest, runContract } from './runners/dev/contract.js';
import { loadConfig } from './runners/gen/gen.js';

const HELP = `
Usage: npx tsx scripts/contract.ts --service NAME [--image REF] [--format table|json]
       (make contract SERVICE=NAME [IMAGE=REF] [FORMAT=json])

Starts the candidate (IMAGE, else services.<NAME>.image from parity.yaml, else the stubs' image) in
the service's place on an isolated copy of its dependencies — a stack of its own (profile minimal
with Toxiproxy, project parity-contract, ports 58xxx) — and checks the platform contract, clause by
clause, each with its evidence and what breaks when it fails (compose/contract/contract.md lists
them): boots within 30 s; liveness without its data stores; readiness fails and names the database
when it is cut; /health's format; the X-Parity-* headers; the metrics the stack reads; writes
refused without credentials; every route of the route table as no one, member, editor and admin
(real sessions from the auth stub, past the edge); forged, expired, unknown-kid tokens and bare
identity headers refused; a token of a rotated signing key accepted; a request in flight at
SIGTERM completes; it starts again on its own migrated schema. The stack is removed at the end,
also on Ctrl-C. The report (JSON, JUnit) goes to .parity/contracts/<time>-<service>/, where
make up and make deploy find it (the contract gate: a passing run for the same image ID and
settings lets that image be routed), and, with the stack up, a row in its audit log
(make audit ACTION=contract.run).

Options:
  --service NAME   frontend, ivor, events or newsroom
  --image REF      the candidate (must be on the engine; nothing is pulled)
  --format F       table (default) or json
  -h, --help       show this help
Exit codes: 0 every clause holds; 1 a clause fails (or could not be measured); 2 bad input.
`;

await runMain(async () => {
  const { values, positionals } = parseCli(process.argv.slice(2), { service: { type: 'string' }, image: { type: 'string' }, format: { type: 'string' } }, HELP);
  if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')} (see --help)`);
  const format = (values.format as string | undefined) ?? 'table';
  if (!['table', 'json'].includes(format)) throw new UsageError(`--format ${format}: expected table or json`);
  const config = await loadConfig();
  const request = parseContractRequest(values.service as string | undefined, values.image as string | undefined, config);
  const progress = createProgress('[contract]');
  const signal = abortOnSignals(progress, 'removing the contract stack');
  const { report, dir } = await runContract(request, config, progress, signal);
  process.stdout.write(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : `${renderContractSummary(report, dir)}\n`);
  // The audit row goes to the developer's stack when it is up (the isolated one is gone by now).
  const stack = defaultTarget();
  if ((await engineOf(stack).containerIds()).length) await createDeployAudit(stack, config).record(contractAuditEntry(report, dir), (message) => progress.info(message));
  else progress.info('audit log: not recorded (the stack is not up: make up, then make audit ACTION=contract.run lists the runs)');
  if (!contractPassed(report)) {
    throw new ContractFailedError(`${report.service} (${report.image}) breaks the platform contract: ${report.clauses.filter((c) => !clauseHolds(c.verdict)).map((c) => c.id).join(', ')}${report.error ? ` (${report.error})` : ''}`);
  }
});
