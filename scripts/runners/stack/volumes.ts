/**
 * Data volumes and the secrets they were initialised with. Postgres (and Grafana) keep the
 * password of their first start, so a volume left on the engine by another checkout, or by a
 * state directory that was deleted, can't be used with freshly generated secrets: the services
 * would retry `password authentication failed` until the health wait gives up. The state
 * directory records which volumes its secrets were used with; `make up` compares before it
 * creates anything. Names only: the engine gives a volume no identity beyond its name (its
 * `CreatedAt` is the data directory's modification time, which moves with every write).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StaleVolumesError } from '../../../services/errors.js';
import { SECRETS } from '../../../services/topology/common.js';
import { projectLabel, volumesCreatedAt, volumesLabelled } from '../clients/docker-host.js';
import { readJson, writeFileAtomic } from '../core/state.js';

/** A volume as the engine knows it: the name and when its data last changed. */
export interface VolumeIdentity {
  readonly name: string;
  readonly changedAt: string;
}

/** Beside the secrets, so restoring `.parity/secrets` restores the record with them. */
function recordPath(stateDir: string): string {
  return join(stateDir, 'secrets', 'volumes.json');
}

/** The names of the compose project's volumes on the engine (by compose's project label). */
export async function projectVolumeNames(project: string): Promise<string[]> {
  return volumesLabelled(projectLabel(project));
}

/** The compose project's volumes on the engine, with when their data last changed. */
export async function projectVolumes(project: string): Promise<VolumeIdentity[]> {
  return (await volumesCreatedAt(await projectVolumeNames(project))).sort((a, b) => a.name.localeCompare(b.name));
}

/** What the state directory knows: whether it has secrets, and the volumes they were used with (undefined: a record from before there was one). */
export interface StateRecord {
  readonly hasSecrets: boolean;
  readonly record: readonly { readonly name: string }[] | undefined;
}

/**
 * The volumes that aren't this state directory's: all of them when it has no secrets (new ones
 * would be generated), else those its record doesn't name. A state directory with secrets but no
 * record (from before there was one) adopts what it finds; so does one whose record names none
 * of the DR region's volumes (`drProject`: a record from before it covered the DR region).
 */
export function foreignVolumes<T extends { readonly name: string }>(volumes: readonly T[], state: StateRecord, drProject?: string): T[] {
  const recorded = drProject === undefined ? state.record : state.record?.filter((known) => known.name.startsWith(`${drProject}_`));
  if (state.hasSecrets && (!recorded || (drProject !== undefined && recorded.length === 0))) return [];
  return volumes.filter((volume) => !recorded?.some((known) => known.name === volume.name));
}

/** Volumes of a DR region that dr.enabled no longer starts: one warning line saying how to remove them. */
export function unusedDrVolumesWarning(project: string, names: readonly string[]): string | undefined {
  if (names.length === 0) return undefined;
  return `warning: the engine holds ${names.length} volumes of project ${project} (a DR region from before; dr.enabled is off, so they are not used, and turning it on would start on their old data): ${names.join(', ')}; docker volume rm ${names.join(' ')} (or make clean) removes them`;
}

/**
 * Refuse to start (exit 2, nothing created) when the project's volumes, or the DR region's when
 * it is enabled, hold data that isn't this state directory's: its secrets are missing (they
 * would be generated anew), or the record says other volumes went with them. Resolves with a
 * warning line when a DR region that is off left volumes behind.
 */
export async function checkVolumesMatchState(project: string, stateDir: string, options: { readonly dr?: { readonly project: string; readonly enabled: boolean } } = {}): Promise<string | undefined> {
  const volumes = await projectVolumes(project);
  const drVolumes = options.dr ? await projectVolumes(options.dr.project) : [];
  if (volumes.length === 0 && drVolumes.length === 0) return undefined;
  const secretsDir = join(stateDir, 'secrets');
  const hasSecrets = await stat(join(secretsDir, SECRETS[0])).then(
    () => true,
    () => false,
  );
  const record = await readJson<readonly { readonly name: string }[] | undefined>(recordPath(stateDir), undefined);
  const state = { hasSecrets, record };
  const foreignByProject = [
    { project, foreign: foreignVolumes(volumes, state) },
    ...(options.dr?.enabled ? [{ project: options.dr.project, foreign: foreignVolumes(drVolumes, state, options.dr.project) }] : []),
  ].filter((entry) => entry.foreign.length > 0);
  if (foreignByProject.length === 0) return options.dr && !options.dr.enabled ? unusedDrVolumesWarning(options.dr.project, drVolumes.map((volume) => volume.name)) : undefined;
  const projects = foreignByProject.map((entry) => entry.project);
  const named = projects.length === 1 ? `project ${projects[0]}` : `projects ${projects.join(' and ')}`;
  const why = hasSecrets
    ? `the secrets in ${secretsDir} were never used with them (they were used with: ${(record ?? []).map((known) => known.name).join(', ') || 'none'})`
    : `there are no secrets in ${secretsDir} (a second checkout, or a deleted state directory), so new ones would be generated`;
  throw new StaleVolumesError(
    `${named} ${projects.length === 1 ? 'has' : 'have'} data volumes on the engine from an earlier stack: ${describe(foreignByProject.flatMap((entry) => entry.foreign))}.\n` +
      `They were initialised with that stack's passwords, and ${why}: Postgres would refuse them ` +
      '("password authentication failed") and `make up` would wait in vain. Nothing was started or created.\n' +
      'Two ways out:\n' +
      `  1. keep the data: restore the state directory that goes with it (its secrets/, ca/ and tls/) into ${stateDir}, then make up\n` +
      `  2. start from empty data: make clean (removes ${projects.map((name) => `project ${name}'s`).join(' and ')} volumes and the state directory's secrets and CA), then make up`,
  );
}

/** After `compose up` created them: these volumes (the project's, and the other projects' given, the DR region's) belong to this state directory's secrets. */
export async function recordVolumes(project: string, stateDir: string, others: readonly string[] = []): Promise<void> {
  const names = (await Promise.all([project, ...others].map((name) => projectVolumeNames(name)))).flat().sort().map((name) => ({ name }));
  await writeFileAtomic(recordPath(stateDir), `${JSON.stringify(names, null, 2)}\n`);
}

function describe(volumes: readonly VolumeIdentity[]): string {
  return volumes.map((volume) => `${volume.name} (data last changed ${volume.changedAt})`).join(', ');
}
