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
import { StaleVolumesError } from '../../services/errors.js';
import { SECRETS } from '../../services/topology/common.js';
import { run } from './exec.js';
import { readJson, writeFileAtomic } from './state.js';

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
  return (await run(['docker', 'volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`])).split('\n').filter(Boolean);
}

/** The compose project's volumes on the engine, with when their data last changed. */
export async function projectVolumes(project: string): Promise<VolumeIdentity[]> {
  const names = await projectVolumeNames(project);
  if (names.length === 0) return [];
  const lines = await run(['docker', 'volume', 'inspect', '--format', '{{.Name}} {{.CreatedAt}}', ...names]);
  return lines
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name, ...changed] = line.split(' ');
      return { name: name!, changedAt: changed.join(' ') };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Refuse to start (exit 2, nothing created) when the project's volumes hold data that isn't
 * this state directory's: its secrets are missing (they would be generated anew), or the
 * record says other volumes went with them. A state directory from before the record adopts
 * the volumes it finds (there is nothing to compare against).
 */
export async function checkVolumesMatchState(project: string, stateDir: string): Promise<void> {
  const volumes = await projectVolumes(project);
  if (volumes.length === 0) return;
  const secretsDir = join(stateDir, 'secrets');
  const hasSecrets = await stat(join(secretsDir, SECRETS[0])).then(
    () => true,
    () => false,
  );
  const record = await readJson<readonly { readonly name: string }[] | undefined>(recordPath(stateDir), undefined);
  if (hasSecrets && !record) return;
  const foreign = volumes.filter((volume) => !record?.some((known) => known.name === volume.name));
  if (foreign.length === 0) return;
  const why = hasSecrets
    ? `the secrets in ${secretsDir} were never used with them (they were used with: ${(record ?? []).map((known) => known.name).join(', ') || 'none'})`
    : `there are no secrets in ${secretsDir} (a second checkout, or a deleted state directory), so new ones would be generated`;
  throw new StaleVolumesError(
    `project ${project} has data volumes on the engine from an earlier stack: ${describe(foreign)}.\n` +
      `They were initialised with that stack's passwords, and ${why}: Postgres would refuse them ` +
      '("password authentication failed") and `make up` would wait in vain. Nothing was started or created.\n' +
      'Two ways out:\n' +
      `  1. keep the data: restore the state directory that goes with it (its secrets/, ca/ and tls/) into ${stateDir}, then make up\n` +
      `  2. start from empty data: make clean (removes project ${project}'s volumes and the state directory's secrets and CA), then make up`,
  );
}

/** After `compose up` created them: these volumes belong to this state directory's secrets. */
export async function recordVolumes(project: string, stateDir: string): Promise<void> {
  const names = (await projectVolumeNames(project)).sort().map((name) => ({ name }));
  await writeFileAtomic(recordPath(stateDir), `${JSON.stringify(names, null, 2)}\n`);
}

function describe(volumes: readonly VolumeIdentity[]): string {
  return volumes.map((volume) => `${volume.name} (data last changed ${volume.changedAt})`).join(', ');
}
