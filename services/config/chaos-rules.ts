/**
 * The chaos scenarios' rules beyond each field's own type: what a new scenario must say, which
 * toxic takes which setting, and whether the breakers and targets it names exist in this config.
 * Pure; the validator reports what this returns with the usual path and line.
 */
import { profileServices } from './profiles.js';
import type { ChaosScenario, ParityConfig, ToxicConfig, ToxicType } from './schema.js';

type Positions = ReadonlyMap<string, { line: number; col: number }>;

/** A problem with its config path (validate.ts's ConfigIssue, by shape: importing it would make a cycle). */
export interface ChaosIssue {
  readonly path: string;
  readonly line?: number;
  readonly col?: number;
  readonly message: string;
}

/** Settings each toxic takes: required ones first; anything else is a mistake. */
export const TOXIC_SETTINGS: Readonly<Record<ToxicType, { readonly required: readonly (keyof ToxicConfig)[]; readonly optional: readonly (keyof ToxicConfig)[] }>> = {
  latency: { required: ['latencyMs'], optional: ['jitterMs'] },
  timeout: { required: [], optional: ['timeoutMs'] },
  down: { required: [], optional: [] },
  bandwidth: { required: ['rateKbps'], optional: [] },
  slicer: { required: ['sliceBytes'], optional: ['sliceDelayUs'] },
  reset_peer: { required: [], optional: ['timeoutMs'] },
};

/** The breakers each service's stub has (`<service>:<breaker>`), and the edge's (`edge:<api>`). */
export const KNOWN_BREAKERS: Readonly<Record<string, readonly string[]>> = {
  frontend: ['ivor', 'events', 'newsroom'],
  ivor: ['postgres-primary', 'postgres-replica'],
  events: ['postgres-primary', 'postgres-replica', 's3'],
  newsroom: ['postgres-primary', 'postgres-replica', 's3'],
  auth: ['postgres-primary', 'postgres-replica', 'redis'],
  edge: ['ivor', 'events', 'newsroom'],
};

const SCENARIO_DEFAULTS = { description: '', durationSeconds: 20, expect: { breakers: [], fallbacks: [], p95Ms: 250 } } as const;

/** A scenario the user added has no built-in values: give it the optional ones (required ones are checked below). */
export function completeScenarios(scenarios: Readonly<Record<string, Partial<ChaosScenario>>>): Record<string, ChaosScenario> {
  return Object.fromEntries(
    Object.entries(scenarios).map(([name, scenario]) => [
      name,
      { ...SCENARIO_DEFAULTS, ...scenario, expect: { ...SCENARIO_DEFAULTS.expect, ...scenario.expect } } as ChaosScenario,
    ]),
  );
}

/** Problems with the scenarios (`written`: what the file itself declares, to tell new scenarios from built-in ones). */
export function checkChaos(config: ParityConfig, written: Readonly<Record<string, unknown>>, positions: Positions): ChaosIssue[] {
  const issues: ChaosIssue[] = [];
  const add = (path: string, message: string) => {
    // Point at the deepest part of the path the user wrote.
    let anchor = path;
    while (!positions.has(anchor) && anchor.includes('.')) anchor = anchor.slice(0, anchor.lastIndexOf('.'));
    issues.push({ path, ...(positions.get(anchor) ?? {}), message });
  };
  const running = profileServices(config);
  for (const name of Object.keys(written)) {
    const scenario = config.chaos.scenarios[name] as Partial<ChaosScenario> | undefined;
    if (!scenario) continue;
    const base = `chaos.scenarios.${name}`;
    for (const field of ['target', 'toxic', 'load'] as const) {
      // Written but invalid: already reported where it is.
      if (scenario[field] === undefined && !positions.has(`${base}.${field}`)) add(`${base}.${field}`, `required for a scenario of your own (see the built-in ones in docs/chaos.md)`);
    }
    if (scenario.toxic) {
      if (scenario.toxic.type === undefined) add(`${base}.toxic.type`, 'required: one of latency, timeout, down, bandwidth, slicer, reset_peer');
      else {
        const rule = TOXIC_SETTINGS[scenario.toxic.type];
        for (const key of rule.required) if (scenario.toxic[key] === undefined) add(`${base}.toxic.${key}`, `required by a ${scenario.toxic.type} toxic`);
        for (const key of Object.keys(scenario.toxic) as (keyof ToxicConfig)[]) {
          if (key !== 'type' && !rule.required.includes(key) && !rule.optional.includes(key)) {
            const takes = [...rule.required, ...rule.optional];
            add(`${base}.toxic.${key}`, `a ${scenario.toxic.type} toxic doesn't take ${key}${takes.length ? `; it takes ${takes.join(', ')}` : '; it takes no settings'}`);
          }
        }
      }
    }
    if (scenario.target === 's3' && !running.has('s3')) add(`${base}.target`, `the S3 store doesn't run with profile "${config.profile}" (use profile: full)`);
    if (scenario.flap && scenario.durationSeconds !== undefined && scenario.flap.downSeconds + scenario.flap.upSeconds > scenario.durationSeconds) {
      add(`${base}.flap`, `one cycle (down ${scenario.flap.downSeconds} s + up ${scenario.flap.upSeconds} s) is longer than durationSeconds ${scenario.durationSeconds}`);
    }
    (scenario.expect?.breakers ?? []).forEach((breaker, index) => {
      const [service = '', name = ''] = breaker.split(':');
      const known = KNOWN_BREAKERS[service];
      if (!known) add(`${base}.expect.breakers[${index}]`, `no service "${service}" has breakers; expected one of ${Object.keys(KNOWN_BREAKERS).join(', ')}`);
      else if (!known.includes(name)) add(`${base}.expect.breakers[${index}]`, `${service} has no breaker "${name}"; its breakers: ${known.join(', ')}`);
      else if (service === 'edge' && !config.breakers.edge.enabled) add(`${base}.expect.breakers[${index}]`, 'the edge breakers are off (breakers.edge.enabled: false)');
    });
  }
  return issues;
}
