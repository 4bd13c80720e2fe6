/**
 * The contract as a gate, for `make up` and `make deploy`: a developer's image reaches users only
 * once the platform contract passed for that exact image (engine ID) and the service's settings.
 * The runs on record are `make contract`'s reports in the stack's state (`contracts/`); when there
 * is none the gate runs the contract now (an isolated stack, ~40 s) and records it, so the next
 * `make up` of the same image costs nothing. services/contracts/gate.ts judges.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { APP_SERVICES, type AppService, type ParityConfig } from '../../../services/config/schema.js';
import { buildTag, ownBuild, ownImage } from '../../../services/topology/own-services.js';
import { judgeGate, type ContractRecord, type GateVerdict } from '../../../services/contracts/gate.js';
import { clauseHolds } from '../../../services/contracts/platform-contract.js';
import { ContractFailedError } from '../../../services/errors.js';
import type { ContractReport } from '../../../services/render/contract-report.js';
import type { Progress } from '../core/progress.js';
import { imageIdInEngine } from '../engine/images.js';
import { contractRecordsDir, contractSettingsKey, runContract } from './contract.js';

/** The runs on record in a state directory (unreadable reports are skipped: they gate nothing). */
export async function readContractRecords(stateDir: string): Promise<ContractRecord[]> {
  const root = contractRecordsDir(stateDir);
  const entries = await readdir(root).catch(() => [] as string[]);
  const records: ContractRecord[] = [];
  for (const entry of entries) {
    try {
      const report = JSON.parse(await readFile(join(root, entry, 'report.json'), 'utf8')) as ContractReport & { passed: boolean };
      records.push({
        service: report.service,
        image: report.image,
        ...(report.imageId ? { imageId: report.imageId } : {}),
        ...(report.settingsKey ? { settingsKey: report.settingsKey } : {}),
        passed: report.passed,
        startedAt: report.startedAt,
        failed: report.clauses.filter((clause) => !clauseHolds(clause.verdict)).map((clause) => clause.id),
        dir: join(root, entry),
      });
    } catch {
      // a run still being written, or not a report
    }
  }
  return records;
}

export interface GateCandidate {
  readonly service: AppService;
  readonly image: string;
}

/**
 * Judge each candidate; run the contract for one with no run on record. Throws
 * ContractFailedError (exit 1) for the first that fails it under `enforce`, before anything
 * is routed; returns the verdicts (a `warn` is printed).
 */
export async function gateCandidates(candidates: readonly GateCandidate[], config: ParityConfig, stateDir: string, progress: Progress, signal?: AbortSignal): Promise<GateVerdict[]> {
  const verdicts: GateVerdict[] = [];
  for (const { service, image } of candidates) {
    const imageId = await imageIdInEngine(image);
    if (!imageId) throw new ContractFailedError(`${service} (${image}): the image is not on the engine, so the platform contract can't be checked`);
    const request = { service, image, imageId, settingsKey: contractSettingsKey(config, service), mode: config.services[service]?.contract ?? 'enforce' } as const;
    let verdict = judgeGate(request, await readContractRecords(stateDir));
    if (verdict.action === 'run') {
      progress.info(`contract gate: ${verdict.why}; checking it now (make contract SERVICE=${service} IMAGE=${image})`);
      await runContract({ service, image }, config, progress, signal, contractRecordsDir(stateDir));
      verdict = judgeGate(request, await readContractRecords(stateDir));
    }
    if (verdict.action === 'refuse' || verdict.action === 'run') throw new ContractFailedError(`contract gate: ${verdict.why}`);
    progress.info(`contract gate: ${verdict.action === 'warn' ? 'WARNING ' : ''}${verdict.why}`);
    verdicts.push(verdict);
  }
  return verdicts;
}

/** The developer's services of one kind as the gate's candidates: images (`source: image`) or builds (`source: build`, their built tag). */
export const ownCandidates = (config: ParityConfig, kind: 'image' | 'build'): GateCandidate[] =>
  APP_SERVICES.flatMap((service) => {
    const image = kind === 'image' ? ownImage(config, service)?.image : ownBuild(config, service) ? buildTag(service) : undefined;
    return image ? [{ service, image }] : [];
  });

/** `upStack`'s gate hook: what `make up`, `make dev` and the dev bench start a stack with. */
export const contractGate =
  (config: ParityConfig, stateDir: string, progress: Progress, signal?: AbortSignal) =>
  async (kind: 'image' | 'build'): Promise<void> =>
    void (await gateCandidates(ownCandidates(config, kind), config, stateDir, progress, signal));
