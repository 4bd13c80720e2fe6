/**
 * Autoscaling judgement, pure: a port of the Kubernetes HorizontalPodAutoscaler (autoscaling/v2)
 * for one service and one metric (CPU as a percentage of the task's reservation, HPA's
 * `Resource`/`Utilization` target). The runner reads each task's CPU from Prometheus, calls
 * `recommend` once per sync (HPA syncs every 15 s), keeps the returned `history` and applies
 * `docker service scale` when `desired` differs from `current`. Nothing here does I/O or reads
 * the clock: `now` is an argument (epoch seconds).
 *
 * What is ported, from kubernetes/kubernetes `pkg/controller/podautoscaler/`:
 * - `replica_calculator.go` `GetResourceReplicas` and `groupPods`: the usage ratio over the
 *   ready tasks with a sample, `ceil(ratio × those tasks)`, the tolerance band
 *   (`Tolerances.isWithin`: `1 − scaleDown.tolerance ≤ ratio ≤ 1 + scaleUp.tolerance` changes
 *   nothing), and the set-aside tasks: on a scale-down a task without a sample counts at
 *   max(100, target) % of its reservation, on a scale-up at 0 %; a task not yet ready counts at
 *   0 % on a scale-up and is left out otherwise; the ratio is then recomputed, and nothing
 *   changes when it falls within the tolerance or reverses the direction (either by the ratio or
 *   by the count of tasks).
 * - `metrics/utilization.go` `GetResourceUtilizationRatio`: the utilization is a whole percent,
 *   truncated (`metricsTotal × 100 / requestsTotal` in integers). So 70.9 % is 70 %.
 * - `horizontal.go` `reconcileAutoscaler`: a count outside [min, max] goes straight to the
 *   bound, without metrics; a count of 0 (with min > 0) disables autoscaling; metrics that
 *   cannot be computed change nothing.
 * - `stabilizeRecommendationWithBehaviors`: each raw recommendation is recorded; the result is
 *   the current count raised to the LOWEST recommendation within the scale-up window and
 *   lowered to the HIGHEST within the scale-down window (`recordInitialRecommendation` seeds
 *   the first one with the current count).
 * - `convertDesiredReplicasWithBehaviorRate`, `calculateScaleUpLimitWithScalingRules`,
 *   `calculateScaleDownLimitWithBehaviors`, `getReplicasChangePerPeriod`: each policy limits the
 *   change from the count at the start of its period (the current count minus what was added,
 *   plus what was removed, within `periodSeconds`); `selectPolicy` picks the largest change
 *   (Max), the smallest (Min), or none (Disabled); then maxReplicas / minReplicas.
 * - `pkg/apis/autoscaling/v2/defaults.go`: the default behavior (`HPA_DEFAULT_BEHAVIOR`).
 *
 * The architecture's rule, "every app service runs 2–10 instances; scale OUT when CPU > 70 %
 * for 5 minutes, scale IN when CPU < 30 % for 10 minutes", maps onto an HPA as follows
 * (`ARCHITECTURE_SCALING`):
 * - target utilization 70 %, minReplicas 2, maxReplicas 10;
 * - scaleUp.tolerance 0: any utilization above 70 % recommends more tasks. Utilization is a
 *   whole percent (truncated), so "above 70 %" means 71 % or more;
 * - scaleDown.tolerance 1 − 30/70 (4/7), so only a utilization below 30 % recommends fewer.
 *   It is written as an HPA manifest would carry it, a decimal rounded UP at a Quantity's milli
 *   precision (0.572): the float 1 − (1 − 30/70) lands one ulp above 30/70, which would make
 *   exactly 30 % scale in. Any value in [4/7, 41/70) gives the same decisions, utilization
 *   being a whole percent;
 * - scaleUp.stabilizationWindowSeconds 300: the lowest recommendation of the last 5 minutes
 *   wins, so the load must have recommended more for 5 minutes on end;
 * - scaleDown.stabilizationWindowSeconds 600: the highest recommendation of the last 10 minutes
 *   wins, so the load must have recommended fewer for 10 minutes on end;
 * - the default policies (scale up by max(100 %, 4 tasks) per 15 s; scale down by 100 % per 15 s).
 *
 * Where the port differs from the controller, it says so at the spot (history pruning, the
 * first-sight seed, readiness).
 */

/** One limit on how fast the count changes (HPA's `HPAScalingPolicy`). */
export interface ScalingPolicy {
  /** `Pods`: at most `value` tasks; `Percent`: at most `value` % of the count at the period's start. */
  readonly type: 'Pods' | 'Percent';
  readonly value: number;
  /** How far back the changes already made count against this policy (HPA allows 1–1800). */
  readonly periodSeconds: number;
}

/** Which policy applies when there are several: the largest change, the smallest, or no change in that direction. */
export type SelectPolicy = 'Max' | 'Min' | 'Disabled';

/** One direction's behavior (HPA's `HPAScalingRules`). */
export interface DirectionRules {
  /** Recommendations younger than this count: scale-up takes their lowest, scale-down their highest. */
  readonly stabilizationWindowSeconds: number;
  /**
   * How far the usage ratio may stray from 1 in this direction before it recommends a change
   * (0.1 = 10 %). HPA: `behavior.scaleUp.tolerance` / `scaleDown.tolerance` (Kubernetes 1.33+,
   * feature HPAConfigurableTolerance), else the cluster-wide 0.1.
   */
  readonly tolerance: number;
  readonly policies: readonly ScalingPolicy[];
  /** @default 'Max' in HPA */
  readonly selectPolicy: SelectPolicy;
}

/** How one service scales: HPA's `spec` for a CPU `Utilization` target. */
export interface ScalingRules {
  /** The CPU usage to keep each task at, in % of the task's reservation (HPA's `averageUtilization`). */
  readonly targetUtilizationPercent: number;
  /** Never fewer tasks than this (HPA's `minReplicas`). */
  readonly minReplicas: number;
  /** Never more tasks than this (HPA's `maxReplicas`). */
  readonly maxReplicas: number;
  readonly behavior: { readonly scaleUp: DirectionRules; readonly scaleDown: DirectionRules };
}

/** One task of the service, as the runner saw it. */
export interface TaskSample {
  /** The task's ID (for the runner's logs; the judgement does not use it). */
  readonly id: string;
  /**
   * CPU used, in % of the task's CPU reservation (200 = twice its reservation). Absent (or not a
   * finite number) = no sample: HPA's "missing metrics".
   */
  readonly cpuPercentOfReservation?: number;
  /**
   * False for a task HPA would set aside as not yet ready: still starting (Docker: not yet
   * running, or its health check still `starting`), whether or not it has a sample (HPA puts a
   * Pending pod there before it looks for its metrics). A task that was healthy and later turned
   * unhealthy counts as ready, as HPA counts a pod past its CPU initialization period (5 min).
   */
  readonly ready: boolean;
}

/** A raw recommendation, as recorded for the stabilization windows. */
export interface Recommendation {
  /** Epoch seconds. */
  readonly at: number;
  readonly replicas: number;
}

/** A change this autoscaler made (HPA's scale events), for the policies' periods. */
export interface ScaleEvent {
  /** Epoch seconds. */
  readonly at: number;
  /** Tasks added (positive) or removed (negative). */
  readonly delta: number;
}

/** What the autoscaler remembers between syncs (HPA keeps it in memory). Start from `EMPTY_HISTORY`. */
export interface ScaleHistory {
  readonly recommendations: readonly Recommendation[];
  readonly events: readonly ScaleEvent[];
}

export const EMPTY_HISTORY: ScaleHistory = { recommendations: [], events: [] };

/**
 * What decided the outcome when it is not simply the formula's result:
 * - `tolerance`: the usage ratio is within the tolerance band (nothing changes);
 * - `reversal`: counting the tasks without a sample or not yet ready would reverse the direction (nothing changes);
 * - `stabilization`: a stabilization window held the count back;
 * - `policy`: a scaling policy limited the change (or `selectPolicy: Disabled` forbade it);
 * - `min` / `max`: minReplicas / maxReplicas;
 * - `no-metrics`: no CPU sample from a ready task (nothing changes);
 * - `disabled`: the service runs 0 tasks (HPA's maintenance mode: nothing changes).
 */
export type ScaleLimit = 'tolerance' | 'reversal' | 'stabilization' | 'policy' | 'min' | 'max' | 'no-metrics' | 'disabled';

/** The judgement of one sync. */
export interface Decision {
  /** The task count to run. */
  readonly desired: number;
  readonly current: number;
  /** One sentence: the usage, the formula's result, and what held it back. */
  readonly reason: string;
  /** The replica calculation's result, before the windows, the policies and the bounds (`current` when none ran). */
  readonly raw: number;
  readonly limitedBy?: ScaleLimit;
  /** At maxReplicas while the load asks for more: capacity is the limit. */
  readonly pinnedAtMax: boolean;
  /** The mean CPU utilization of the ready tasks with a sample, a whole percent, as HPA reports it. */
  readonly utilization?: number;
  /** The history to pass to the next sync: this sync recorded, pruned to the longest window and period. */
  readonly history: ScaleHistory;
}

/** HPA's cluster-wide tolerance (`--horizontal-pod-autoscaler-tolerance`), used when a direction sets none. */
export const HPA_DEFAULT_TOLERANCE = 0.1;

/**
 * HPA's default behavior (pkg/apis/autoscaling/v2/defaults.go; the scale-down window comes from
 * `--horizontal-pod-autoscaler-downscale-stabilization`, 5 minutes).
 */
export const HPA_DEFAULT_BEHAVIOR: ScalingRules['behavior'] = {
  scaleUp: {
    stabilizationWindowSeconds: 0,
    tolerance: HPA_DEFAULT_TOLERANCE,
    policies: [
      { type: 'Pods', value: 4, periodSeconds: 15 },
      { type: 'Percent', value: 100, periodSeconds: 15 },
    ],
    selectPolicy: 'Max',
  },
  scaleDown: {
    stabilizationWindowSeconds: 300,
    tolerance: HPA_DEFAULT_TOLERANCE,
    policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
    selectPolicy: 'Max',
  },
};

/** The architecture's thresholds, as it states them. */
export const ARCHITECTURE_RULE = {
  /** Every app service runs at least this many instances. */
  minInstances: 2,
  /** … and at most this many. */
  maxInstances: 10,
  /** Scale out when CPU is above this (% of the reservation) … */
  scaleOutAbovePercent: 70,
  /** … for this long. */
  scaleOutAfterSeconds: 300,
  /** Scale in when CPU is below this … */
  scaleInBelowPercent: 30,
  /** … for this long. */
  scaleInAfterSeconds: 600,
} as const;

/**
 * The scale-down tolerance that makes a utilization below `belowPercent` (and only that)
 * recommend fewer tasks at `targetPercent`: 1 − below/target, rounded up at a Quantity's milli
 * precision (see the module's doc).
 */
export function scaleDownToleranceFor(belowPercent: number, targetPercent: number): number {
  return Math.ceil((1 - belowPercent / targetPercent) * 1000) / 1000;
}

/** The architecture's rule as HPA rules; the windows may be shortened (tests, drills). */
export function architectureScaling(windows: { readonly scaleUpWindowSeconds?: number; readonly scaleDownWindowSeconds?: number } = {}): ScalingRules {
  const rule = ARCHITECTURE_RULE;
  return {
    targetUtilizationPercent: rule.scaleOutAbovePercent,
    minReplicas: rule.minInstances,
    maxReplicas: rule.maxInstances,
    behavior: {
      scaleUp: { ...HPA_DEFAULT_BEHAVIOR.scaleUp, tolerance: 0, stabilizationWindowSeconds: windows.scaleUpWindowSeconds ?? rule.scaleOutAfterSeconds },
      scaleDown: {
        ...HPA_DEFAULT_BEHAVIOR.scaleDown,
        tolerance: scaleDownToleranceFor(rule.scaleInBelowPercent, rule.scaleOutAbovePercent),
        stabilizationWindowSeconds: windows.scaleDownWindowSeconds ?? rule.scaleInAfterSeconds,
      },
    },
  };
}

/**
 * Every app service's scaling: 2–10 tasks at 70 % CPU; more when above 70 % for 5 minutes,
 * fewer when below 30 % for 10 minutes (see the module's doc for the mapping).
 */
export const ARCHITECTURE_SCALING: ScalingRules = architectureScaling();

/**
 * One sync of the autoscaler: the task count `current` should become, given the tasks' samples
 * and what earlier syncs recorded. Pure: `history` is not modified; the updated one is returned.
 */
export function recommend(rules: ScalingRules, current: number, samples: readonly TaskSample[], history: ScaleHistory, now: number): Decision {
  // recordInitialRecommendation: the first time HPA sees a target it records the current count.
  const recommendations: Recommendation[] = history.recommendations.length ? [...history.recommendations] : [{ at: now, replicas: current }];
  const events: ScaleEvent[] = [...history.events];
  const done = (outcome: Omit<Decision, 'history' | 'current' | 'pinnedAtMax'> & { readonly pinnedAtMax?: boolean }): Decision => {
    if (outcome.desired !== current) events.push({ at: now, delta: outcome.desired - current }); // storeScaleEvent
    return { ...outcome, current, pinnedAtMax: outcome.pinnedAtMax ?? false, history: prune(rules, { recommendations, events }, now) };
  };

  // reconcileAutoscaler: before any metric.
  if (current === 0 && rules.minReplicas !== 0) {
    return done({ desired: 0, raw: 0, limitedBy: 'disabled', reason: 'the service runs 0 tasks: autoscaling is off until its count is set by hand (HPA: scaling is disabled since the replica count of the target is zero)' });
  }
  if (current > rules.maxReplicas) {
    return done({ desired: rules.maxReplicas, raw: current, limitedBy: 'max', reason: `${tasks(current)} is above maxReplicas ${rules.maxReplicas}: scale in ${current} → ${rules.maxReplicas}` });
  }
  if (current < rules.minReplicas) {
    return done({ desired: rules.minReplicas, raw: current, limitedBy: 'min', reason: `${tasks(current)} is below minReplicas ${rules.minReplicas}: scale out ${current} → ${rules.minReplicas}` });
  }

  const calculation = calculateReplicas(rules, current, samples);
  if ('error' in calculation) {
    return done({ desired: current, raw: current, limitedBy: 'no-metrics', reason: `${calculation.error}: stays at ${current}` });
  }
  const usage = describeUsage(rules, calculation);
  if (calculation.held) {
    const why =
      calculation.held === 'tolerance'
        ? `is within the tolerance (more above ${number(rules.targetUtilizationPercent * (1 + rules.behavior.scaleUp.tolerance))} %, fewer below ${number(rules.targetUtilizationPercent * (1 - rules.behavior.scaleDown.tolerance))} %)`
        : 'would reverse the direction once the tasks without a sample or not yet ready are counted';
    // HPA records this recommendation (the current count) for the windows, like any other.
    recommendations.push({ at: now, replicas: current });
    return done({ desired: current, raw: current, limitedBy: calculation.held, utilization: calculation.utilization, reason: `${usage} ${why}: stays at ${current}` });
  }

  const raw = calculation.replicas;
  const stabilized = stabilize(rules, current, raw, recommendations, now);
  recommendations.push({ at: now, replicas: raw });
  const steps: string[] = [];
  let limitedBy: ScaleLimit | undefined;
  if (stabilized.replicas !== raw) {
    limitedBy = 'stabilization';
    const verb = stabilized.replicas === current ? 'held at' : 'stabilized at';
    steps.push(
      raw > stabilized.replicas
        ? `${verb} ${stabilized.replicas} by the ${rules.behavior.scaleUp.stabilizationWindowSeconds} s scale-up window (lowest recommendation ${stabilized.lowest})`
        : `${verb} ${stabilized.replicas} by the ${rules.behavior.scaleDown.stabilizationWindowSeconds} s scale-down window (highest recommendation ${stabilized.highest})`,
    );
  }
  const rated = limitRate(rules, current, stabilized.replicas, events, now);
  if (rated.limitedBy) {
    limitedBy = rated.limitedBy;
    steps.push(rated.why!);
  }
  const desired = rated.replicas;
  const change = desired > current ? `scale out ${current} → ${desired}` : desired < current ? `scale in ${current} → ${desired}` : '';
  const reason = `${usage} → ${raw}${steps.length ? `, ${steps.join(', ')}` : ''}${change ? `: ${change}` : limitedBy ? '' : `: stays at ${current}`}`;
  return done({ desired, raw, limitedBy, utilization: calculation.utilization, pinnedAtMax: desired === rules.maxReplicas && raw > rules.maxReplicas, reason });
}

interface Calculation {
  readonly replicas: number;
  /** Mean utilization of the ready tasks with a sample (what HPA reports). */
  readonly utilization: number;
  /** Ready tasks with a sample. */
  readonly measured: number;
  /** Set when the tasks without a sample or not yet ready were counted (HPA's second pass). */
  readonly recounted?: { readonly utilization: number; readonly missing: number; readonly missingPercent?: number; readonly unready: number };
  /** Why the count stays as it is, when it does. */
  readonly held?: 'tolerance' | 'reversal';
}

/** HPA's `GetResourceReplicas` and `groupPods` for one CPU utilization target. */
function calculateReplicas(rules: ScalingRules, current: number, samples: readonly TaskSample[]): Calculation | { readonly error: string } {
  const target = rules.targetUtilizationPercent;
  const within = (ratio: number) => 1.0 - rules.behavior.scaleDown.tolerance <= ratio && ratio <= 1.0 + rules.behavior.scaleUp.tolerance; // Tolerances.isWithin
  if (samples.length === 0) return { error: 'no tasks reported (HPA: no pods returned by selector)' };

  // Per task, in thousandths of a percent of its reservation: integers, like HPA's milli-cores.
  const measured: number[] = [];
  let unready = 0;
  let missing = 0;
  for (const sample of samples) {
    if (!sample.ready) unready++;
    else if (sample.cpuPercentOfReservation === undefined || !Number.isFinite(sample.cpuPercentOfReservation)) missing++;
    else measured.push(Math.round(sample.cpuPercentOfReservation * 1000));
  }
  if (measured.length === 0) {
    return { error: `no CPU sample from a ready task (${tasks(samples.length)}: ${unready} not yet ready, ${missing} without a sample)` };
  }

  const utilization = utilizationOf(measured);
  const usageRatio = utilization / target;
  const scaleUpWithUnready = unready > 0 && usageRatio > 1.0;
  if (!scaleUpWithUnready && missing === 0) {
    if (within(usageRatio)) return { replicas: current, utilization, measured: measured.length, held: 'tolerance' };
    return { replicas: Math.ceil(usageRatio * measured.length), utilization, measured: measured.length };
  }

  const counted = [...measured];
  let missingPercent: number | undefined;
  if (missing > 0) {
    // On a scale-down a task without a sample counts as using all of its reservation (or the target, above 100 %); on a scale-up, none.
    if (usageRatio < 1.0) missingPercent = Math.max(100, target);
    else if (usageRatio > 1.0) missingPercent = 0;
    if (missingPercent !== undefined) for (let i = 0; i < missing; i++) counted.push(missingPercent * 1000);
  }
  if (scaleUpWithUnready) for (let i = 0; i < unready; i++) counted.push(0);
  const recountedUtilization = utilizationOf(counted);
  const newUsageRatio = recountedUtilization / target;
  const recounted = { utilization: recountedUtilization, missing: missingPercent === undefined ? 0 : missing, missingPercent, unready: scaleUpWithUnready ? unready : 0 };
  const base = { utilization, measured: measured.length, recounted };

  if (within(newUsageRatio)) return { ...base, replicas: current, held: 'tolerance' };
  if ((usageRatio < 1.0 && newUsageRatio > 1.0) || (usageRatio > 1.0 && newUsageRatio < 1.0)) return { ...base, replicas: current, held: 'reversal' };
  const newReplicas = Math.ceil(newUsageRatio * counted.length);
  // The count of tasks taken into account can reverse the direction too (more tasks than the service's count, during an update).
  if ((newUsageRatio < 1.0 && newReplicas > current) || (newUsageRatio > 1.0 && newReplicas < current)) return { ...base, replicas: current, held: 'reversal' };
  return { ...base, replicas: newReplicas };
}

/** `GetResourceUtilizationRatio`: total usage × 100 / total reservations, truncated to a whole percent (equal reservations). */
function utilizationOf(milliPercents: readonly number[]): number {
  const total = milliPercents.reduce((sum, value) => sum + value, 0);
  return Math.floor(total / (milliPercents.length * 1000));
}

/** `stabilizeRecommendationWithBehaviors`: the current count, raised to the scale-up window's lowest and lowered to the scale-down window's highest. */
function stabilize(rules: ScalingRules, current: number, desired: number, recommendations: readonly Recommendation[], now: number): { readonly replicas: number; readonly lowest: number; readonly highest: number } {
  const upCutoff = now - rules.behavior.scaleUp.stabilizationWindowSeconds;
  const downCutoff = now - rules.behavior.scaleDown.stabilizationWindowSeconds;
  let lowest = desired;
  let highest = desired;
  for (const recommendation of recommendations) {
    if (recommendation.at > upCutoff) lowest = Math.min(recommendation.replicas, lowest);
    if (recommendation.at > downCutoff) highest = Math.max(recommendation.replicas, highest);
  }
  let replicas = current;
  if (replicas < lowest) replicas = lowest;
  if (replicas > highest) replicas = highest;
  return { replicas, lowest, highest };
}

/** `getReplicasChangePerPeriod`: the tasks changed (in one direction) within the last `periodSeconds`. */
function changedWithin(periodSeconds: number, changes: readonly ScaleEvent[], now: number): number {
  const cutoff = now - periodSeconds;
  return changes.filter((event) => event.at > cutoff).reduce((sum, event) => sum + event.delta, 0);
}

interface Proposal {
  readonly policy: ScalingPolicy;
  readonly from: number;
  readonly to: number;
}

/**
 * `calculateScaleUpLimitWithScalingRules` / `calculateScaleDownLimitWithBehaviors`: each policy
 * proposes a count from the count at its period's start (current − added + removed within the
 * period); selectPolicy picks among the proposals.
 */
function policyLimit(direction: 'up' | 'down', rules: DirectionRules, current: number, events: readonly ScaleEvent[], now: number): { readonly limit: number; readonly proposals: readonly Proposal[] } {
  if (rules.selectPolicy === 'Disabled') return { limit: current, proposals: [] };
  const added = events.filter((event) => event.delta > 0);
  const removed = events.filter((event) => event.delta < 0).map((event) => ({ at: event.at, delta: -event.delta }));
  // Up: 'Max' takes the highest count, 'Min' the lowest. Down: 'Max' (the largest change) takes the lowest count.
  const pickHighest = (direction === 'up') === (rules.selectPolicy === 'Max');
  let limit = pickHighest ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  const proposals: Proposal[] = [];
  for (const policy of rules.policies) {
    const from = current - changedWithin(policy.periodSeconds, added, now) + changedWithin(policy.periodSeconds, removed, now);
    const to =
      direction === 'up'
        ? policy.type === 'Pods'
          ? from + policy.value
          : Math.ceil(from * (1 + policy.value / 100)) // rounded up, or a small count would never grow
        : policy.type === 'Pods'
          ? from - policy.value
          : Math.trunc(from * (1 - policy.value / 100)); // int32(): truncated
    proposals.push({ policy, from, to });
    limit = pickHighest ? Math.max(limit, to) : Math.min(limit, to);
  }
  return { limit, proposals };
}

/** `convertDesiredReplicasWithBehaviorRate`: the policies' limit, then maxReplicas / minReplicas. */
function limitRate(rules: ScalingRules, current: number, desired: number, events: readonly ScaleEvent[], now: number): { readonly replicas: number; readonly limitedBy?: ScaleLimit; readonly why?: string } {
  if (desired > current) {
    const up = rules.behavior.scaleUp;
    const { limit: proposed, proposals } = policyLimit('up', up, current, events, now);
    const limit = Math.max(proposed, current); // no further scale-up until the period's events age out
    if (desired <= Math.min(rules.maxReplicas, limit)) return { replicas: desired };
    if (rules.maxReplicas > limit) return { replicas: limit, limitedBy: 'policy', why: `limited to ${limit} by the scale-up policies (${describePolicies('up', up, proposals)})` };
    return { replicas: rules.maxReplicas, limitedBy: 'max', why: `capped at maxReplicas ${rules.maxReplicas}` };
  }
  if (desired < current) {
    const down = rules.behavior.scaleDown;
    const { limit: proposed, proposals } = policyLimit('down', down, current, events, now);
    const limit = Math.min(proposed, current);
    if (desired >= Math.max(rules.minReplicas, limit)) return { replicas: desired };
    if (rules.minReplicas < limit) return { replicas: limit, limitedBy: 'policy', why: `limited to ${limit} by the scale-down policies (${describePolicies('down', down, proposals)})` };
    return { replicas: rules.minReplicas, limitedBy: 'min', why: `raised to minReplicas ${rules.minReplicas}` };
  }
  return { replicas: desired };
}

function describePolicies(direction: 'up' | 'down', rules: DirectionRules, proposals: readonly Proposal[]): string {
  if (rules.selectPolicy === 'Disabled') return `scale-${direction} is disabled: selectPolicy Disabled`;
  const sign = direction === 'up' ? '+' : '−';
  const each = proposals.map(({ policy, from, to }) => `${sign}${policy.value}${policy.type === 'Percent' ? ' %' : ''} per ${policy.periodSeconds} s from ${from}: ${to}`);
  return `${each.join('; ')}; selectPolicy ${rules.selectPolicy}`;
}

function describeUsage(rules: ScalingRules, calculation: Calculation): string {
  const head = `usage ${calculation.utilization} % of ${rules.targetUtilizationPercent} % target on ${tasks(calculation.measured)}`;
  const recounted = calculation.recounted;
  if (!recounted) return head;
  const counted = [
    recounted.missing ? `${tasks(recounted.missing)} without a sample at ${recounted.missingPercent} %` : '',
    recounted.unready ? `${tasks(recounted.unready)} not yet ready at 0 %` : '',
  ].filter(Boolean);
  return counted.length ? `${head} (${recounted.utilization} % counting ${counted.join(' and ')})` : head;
}

/**
 * The history to keep: recommendations within the longest stabilization window, events within
 * the longest policy period (of either direction: both directions' limits read both kinds of
 * event). What is dropped could no longer count. HPA instead reuses one outdated slot per new
 * entry; the entries it counts are the same, except that it may overwrite an event still inside
 * the other direction's longer period. The newest recommendation is kept even when older than the
 * windows: it marks the service as seen (an empty list means a first sight, which HPA seeds with
 * the current count), and outside every window it counts for nothing.
 */
function prune(rules: ScalingRules, history: ScaleHistory, now: number): ScaleHistory {
  const { scaleUp, scaleDown } = rules.behavior;
  const windowCutoff = now - Math.max(scaleUp.stabilizationWindowSeconds, scaleDown.stabilizationWindowSeconds);
  const periodCutoff = now - Math.max(0, ...[...scaleUp.policies, ...scaleDown.policies].map((policy) => policy.periodSeconds));
  let recommendations = history.recommendations.filter((recommendation) => recommendation.at > windowCutoff);
  if (recommendations.length === 0 && history.recommendations.length > 0) {
    recommendations = [history.recommendations.reduce((newest, recommendation) => (recommendation.at >= newest.at ? recommendation : newest))];
  }
  return { recommendations, events: history.events.filter((event) => event.at > periodCutoff) };
}

const tasks = (count: number) => `${count} task${count === 1 ? '' : 's'}`;
const number = (value: number) => String(Number(value.toFixed(1)));
