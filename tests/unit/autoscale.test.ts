/**
 * The autoscaling judgement (pure) against HPA's documented behaviour. Each case names the rule it
 * checks: "docs" is kubernetes.io/docs/concepts/workloads/autoscaling/horizontal-pod-autoscale/
 * (sections Algorithm details, Scaling policies, Stabilization window, Tolerance, Default behavior,
 * Implicit maintenance-mode deactivation); "code" is kubernetes/kubernetes
 * pkg/controller/podautoscaler/ (replica_calculator.go, horizontal.go, metrics/utilization.go)
 * where the docs are silent or summarise.
 */
import { describe, expect, it } from 'vitest';
import {
  ARCHITECTURE_SCALING,
  EMPTY_HISTORY,
  HPA_DEFAULT_BEHAVIOR,
  architectureScaling,
  recommend,
  scaleDownToleranceFor,
  type Decision,
  type ScaleHistory,
  type ScalingRules,
  type TaskSample,
} from '../../services/scale/autoscale.js';

const T0 = 1_800_000_000;

/** Tasks at these CPU percentages (undefined = no sample), all ready. */
const tasks = (...cpu: (number | undefined)[]): TaskSample[] => cpu.map((value, i) => ({ id: `t${i}`, cpuPercentOfReservation: value, ready: true }));
/** Tasks not yet ready (still starting). */
const starting = (...cpu: (number | undefined)[]): TaskSample[] => cpu.map((value, i) => ({ id: `s${i}`, cpuPercentOfReservation: value, ready: false }));
const times = (count: number, cpu: number | undefined) => tasks(...Array.from({ length: count }, () => cpu));

/** HPA with its default behavior, except no scale-down window: the formula alone. */
const hpa = (overrides: Partial<ScalingRules> = {}): ScalingRules => ({
  targetUtilizationPercent: 70,
  minReplicas: 1,
  maxReplicas: 100,
  behavior: { scaleUp: HPA_DEFAULT_BEHAVIOR.scaleUp, scaleDown: { ...HPA_DEFAULT_BEHAVIOR.scaleDown, stabilizationWindowSeconds: 0 } },
  ...overrides,
});
/** The architecture's rule without its windows. */
const FAST = architectureScaling({ scaleUpWindowSeconds: 0, scaleDownWindowSeconds: 0 });

/** Syncs every `every` seconds from T0, the count following each decision; samples from the count and the time. */
function run(rules: ScalingRules, start: number, syncs: number, samples: (current: number, at: number) => TaskSample[], every = 15): Decision[] {
  const decisions: Decision[] = [];
  let current = start;
  let history: ScaleHistory = EMPTY_HISTORY;
  for (let i = 0; i < syncs; i++) {
    const decision = recommend(rules, current, samples(current, T0 + i * every), history, T0 + i * every);
    decisions.push(decision);
    current = decision.desired;
    history = decision.history;
  }
  return decisions;
}

const deepFreeze = <T>(value: T): T => {
  if (value && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
};

describe('the replica formula (docs: Algorithm details)', () => {
  it('desiredReplicas = ceil(currentReplicas × current / desired): twice the target doubles the count (docs: 200m of 100m)', () => {
    const decision = recommend(hpa(), 2, tasks(140, 140), EMPTY_HISTORY, T0);
    expect(decision).toMatchObject({ desired: 4, raw: 4, utilization: 140, pinnedAtMax: false, limitedBy: undefined });
    expect(decision.reason).toBe('usage 140 % of 70 % target on 2 tasks → 4: scale out 2 → 4');
  });

  it('half the target halves the count (docs: 50m of 100m)', () => {
    expect(recommend(hpa(), 4, times(4, 35), EMPTY_HISTORY, T0)).toMatchObject({ desired: 2, raw: 2 });
  });

  it('rounds up: 84 % of 70 % on 3 tasks is 3.6 → 4 (docs: ceil)', () => {
    expect(recommend(hpa(), 3, times(3, 84), EMPTY_HISTORY, T0)).toMatchObject({ desired: 4, raw: 4 });
  });

  it('the utilization is a whole percent, truncated (code: GetResourceUtilizationRatio, metricsTotal × 100 / requestsTotal in integers): 70.9 % is 70 %', () => {
    expect(recommend(FAST, 3, times(3, 70.9), EMPTY_HISTORY, T0)).toMatchObject({ desired: 3, utilization: 70, limitedBy: 'tolerance' });
    expect(recommend(FAST, 2, tasks(70.5, 71.4), EMPTY_HISTORY, T0)).toMatchObject({ desired: 2, utilization: 70 });
    expect(recommend(FAST, 3, times(3, 71), EMPTY_HISTORY, T0)).toMatchObject({ desired: 4, utilization: 71 });
  });

  it('the mean is over the tasks (docs: "the average of the given metric across all Pods")', () => {
    // (100 + 40 + 70) / 3 = 70: exactly on target.
    expect(recommend(FAST, 3, tasks(100, 40, 70), EMPTY_HISTORY, T0)).toMatchObject({ desired: 3, utilization: 70, limitedBy: 'tolerance' });
  });
});

describe('tolerance (docs: Tolerance; "skips any scaling action if the ratio is sufficiently close to 1.0")', () => {
  it('the default 0.1: 75 % of a 70 % target (ratio 1.07) changes nothing, 78 % (1.11) does', () => {
    const within = recommend(hpa(), 3, times(3, 75), EMPTY_HISTORY, T0);
    expect(within).toMatchObject({ desired: 3, raw: 3, limitedBy: 'tolerance' });
    expect(within.reason).toBe('usage 75 % of 70 % target on 3 tasks is within the tolerance (more above 77 %, fewer below 63 %): stays at 3');
    expect(recommend(hpa(), 3, times(3, 78), EMPTY_HISTORY, T0)).toMatchObject({ desired: 4 });
  });

  it('per direction (code: Tolerances.isWithin, 1 − scaleDown ≤ ratio ≤ 1 + scaleUp): at 70 %, 75 % scales out, 35 % changes nothing, 25 % scales in', () => {
    expect(recommend(FAST, 3, times(3, 75), EMPTY_HISTORY, T0)).toMatchObject({ desired: 4, raw: 4 });
    expect(recommend(FAST, 3, times(3, 35), EMPTY_HISTORY, T0)).toMatchObject({ desired: 3, limitedBy: 'tolerance' });
    expect(recommend(FAST, 4, times(4, 25), EMPTY_HISTORY, T0)).toMatchObject({ desired: 2, raw: 2 });
  });

  it('the architecture\'s thresholds are strict: exactly 70 % and exactly 30 % change nothing; 71 % and 29.9 % (29 %) do', () => {
    expect(recommend(FAST, 4, times(4, 70), EMPTY_HISTORY, T0).desired).toBe(4);
    expect(recommend(FAST, 4, times(4, 71), EMPTY_HISTORY, T0).desired).toBe(5);
    const atThirty = recommend(FAST, 4, times(4, 30), EMPTY_HISTORY, T0);
    expect(atThirty).toMatchObject({ desired: 4, limitedBy: 'tolerance' });
    expect(atThirty.reason).toBe('usage 30 % of 70 % target on 4 tasks is within the tolerance (more above 70 %, fewer below 30 %): stays at 4');
    expect(recommend(FAST, 4, times(4, 29.9), EMPTY_HISTORY, T0)).toMatchObject({ desired: 2, utilization: 29 });
  });
});

describe('stabilization windows (docs: Stabilization window; code: stabilizeRecommendationWithBehaviors)', () => {
  it('the 300 s scale-up window takes the LOWEST recommendation: a first sight is held at the current count (code: recordInitialRecommendation)', () => {
    const decision = recommend(ARCHITECTURE_SCALING, 3, times(3, 84), EMPTY_HISTORY, T0);
    expect(decision).toMatchObject({ desired: 3, raw: 4, limitedBy: 'stabilization' });
    expect(decision.reason).toBe('usage 84 % of 70 % target on 3 tasks → 4, held at 3 by the 300 s scale-up window (lowest recommendation 3)');
    expect(decision.history.recommendations).toEqual([
      { at: T0, replicas: 3 },
      { at: T0, replicas: 4 },
    ]);
  });

  it('scale OUT only after CPU > 70 % for 5 minutes on end (syncs every 15 s)', () => {
    const decisions = run(ARCHITECTURE_SCALING, 3, 25, () => times(3, 84));
    const first = decisions.findIndex((decision) => decision.desired !== 3);
    expect(first * 15).toBe(300);
    expect(decisions[first]).toMatchObject({ desired: 4, current: 3 });
    expect(decisions.slice(0, first).every((decision) => decision.limitedBy === 'stabilization')).toBe(true);
  });

  it('one sync back within the tolerance restarts the 5 minutes', () => {
    // High load, except one sync at 50 % (within tolerance: it recommends the current count) at 195 s.
    const decisions = run(ARCHITECTURE_SCALING, 3, 40, (_current, at) => times(3, at === T0 + 195 ? 50 : 84));
    expect(decisions.findIndex((decision) => decision.desired !== 3) * 15).toBe(195 + 300);
  });

  it('the scale-down window takes the HIGHEST recommendation within it, and lets go when it ages out', () => {
    const history: ScaleHistory = {
      recommendations: [
        { at: T0 - 590, replicas: 6 },
        { at: T0 - 300, replicas: 5 },
        { at: T0 - 15, replicas: 3 },
      ],
      events: [],
    };
    const held = recommend(ARCHITECTURE_SCALING, 6, times(6, 20), history, T0);
    expect(held).toMatchObject({ desired: 6, raw: 2, limitedBy: 'stabilization' });
    expect(held.reason).toBe('usage 20 % of 70 % target on 6 tasks → 2, held at 6 by the 600 s scale-down window (highest recommendation 6)');
    const later = recommend(ARCHITECTURE_SCALING, 6, times(6, 20), held.history, T0 + 11);
    expect(later).toMatchObject({ desired: 5, raw: 2, limitedBy: 'stabilization' });
    expect(later.reason).toBe('usage 20 % of 70 % target on 6 tasks → 2, stabilized at 5 by the 600 s scale-down window (highest recommendation 5): scale in 6 → 5');
  });

  it('scale IN only after CPU < 30 % for 10 minutes on end', () => {
    const decisions = run(ARCHITECTURE_SCALING, 6, 50, () => times(6, 20));
    const first = decisions.findIndex((decision) => decision.desired !== 6);
    expect(first * 15).toBe(600);
    expect(decisions[first]).toMatchObject({ desired: 2, raw: 2 });
  });

  it('HPA\'s defaults: no scale-up window (scaled up immediately), a 300 s scale-down window (docs: Default behavior)', () => {
    const defaults = hpa({ behavior: HPA_DEFAULT_BEHAVIOR });
    expect(recommend(defaults, 3, times(3, 140), EMPTY_HISTORY, T0)).toMatchObject({ desired: 6 });
    const down = run(defaults, 4, 30, () => times(4, 14));
    expect(down.findIndex((decision) => decision.desired !== 4) * 15).toBe(300);
  });
});

describe('scaling policies (docs: Scaling policies, Default behavior; code: calculateScaleUpLimitWithScalingRules, calculateScaleDownLimitWithBehaviors)', () => {
  it('scale-up from 2 tasks at 400 %: at most max(+100 %, +4 tasks) per 15 s, counted from the period\'s start, then maxReplicas', () => {
    const first = recommend(FAST, 2, times(2, 400), EMPTY_HISTORY, T0);
    expect(first).toMatchObject({ desired: 6, raw: 12, limitedBy: 'policy', pinnedAtMax: false });
    expect(first.reason).toBe('usage 400 % of 70 % target on 2 tasks → 12, limited to 6 by the scale-up policies (+4 per 15 s from 2: 6; +100 % per 15 s from 2: 4; selectPolicy Max): scale out 2 → 6');
    expect(first.history.events).toEqual([{ at: T0, delta: 4 }]);

    // 10 s later the 4 added count against the period: its start is still 2.
    const held = recommend(FAST, 6, times(6, 400), first.history, T0 + 10);
    expect(held).toMatchObject({ desired: 6, raw: 35, limitedBy: 'policy' });
    expect(held.reason).toBe('usage 400 % of 70 % target on 6 tasks → 35, limited to 6 by the scale-up policies (+4 per 15 s from 2: 6; +100 % per 15 s from 2: 4; selectPolicy Max)');

    // 15 s after the change it has left the period: +100 % of 6 = 12, capped at 10.
    const capped = recommend(FAST, 6, times(6, 400), held.history, T0 + 15);
    expect(capped).toMatchObject({ desired: 10, limitedBy: 'max', pinnedAtMax: true });
    expect(capped.reason).toBe('usage 400 % of 70 % target on 6 tasks → 35, capped at maxReplicas 10: scale out 6 → 10');
  });

  it('the Percent policy wins when it allows more (10 → 20, not 14)', () => {
    expect(recommend(hpa(), 10, times(10, 400), EMPTY_HISTORY, T0)).toMatchObject({ desired: 20, raw: 58, limitedBy: 'policy' });
  });

  it('tasks removed within the period raise its start for a scale-up (both event lists count)', () => {
    const history: ScaleHistory = { recommendations: [], events: [{ at: T0 - 5, delta: -2 }] };
    // Period start 4 + 2 = 6: +100 % → 12, over maxReplicas → 10. Without the removal: 8.
    expect(recommend(FAST, 4, times(4, 400), history, T0)).toMatchObject({ desired: 10, limitedBy: 'max' });
    expect(recommend(FAST, 4, times(4, 400), EMPTY_HISTORY, T0)).toMatchObject({ desired: 8, limitedBy: 'policy' });
  });

  it('the default scale-down (100 % per 15 s) may go to minReplicas at once (docs: "can be scaled down to the minimum allowed replicas")', () => {
    const decision = recommend(FAST, 10, times(10, 5), EMPTY_HISTORY, T0);
    expect(decision).toMatchObject({ desired: 2, raw: 1, limitedBy: 'min' });
    expect(decision.reason).toBe('usage 5 % of 70 % target on 10 tasks → 1, raised to minReplicas 2: scale in 10 → 2');
  });

  it('the documented example: 4 Pods or 10 % per 60 s removes 8 of 80, then (a period later) 8 of 72, and 4 at a time at 40 or fewer', () => {
    const rules = hpa({ behavior: { scaleUp: HPA_DEFAULT_BEHAVIOR.scaleUp, scaleDown: { stabilizationWindowSeconds: 0, tolerance: 0.1, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 60 }, { type: 'Percent', value: 10, periodSeconds: 60 }] } } });
    const first = recommend(rules, 80, times(80, 7), EMPTY_HISTORY, T0);
    expect(first).toMatchObject({ desired: 72, raw: 8, limitedBy: 'policy' });
    expect(first.reason).toBe('usage 7 % of 70 % target on 80 tasks → 8, limited to 72 by the scale-down policies (−4 per 60 s from 80: 76; −10 % per 60 s from 80: 72; selectPolicy Max): scale in 80 → 72');
    expect(recommend(rules, 72, times(72, 7), first.history, T0 + 30)).toMatchObject({ desired: 72, limitedBy: 'policy' });
    expect(recommend(rules, 72, times(72, 7), first.history, T0 + 61)).toMatchObject({ desired: 64 });
    expect(recommend(rules, 30, times(30, 7), EMPTY_HISTORY, T0)).toMatchObject({ desired: 26 });
  });

  it('selectPolicy Min picks the smallest change (docs: "Example: limit scale down rate"); Disabled forbids the direction', () => {
    const down = (selectPolicy: 'Min' | 'Disabled') =>
      hpa({ behavior: { scaleUp: HPA_DEFAULT_BEHAVIOR.scaleUp, scaleDown: { stabilizationWindowSeconds: 0, tolerance: 0.1, selectPolicy, policies: [{ type: 'Percent', value: 10, periodSeconds: 60 }, { type: 'Pods', value: 5, periodSeconds: 60 }] } } });
    expect(recommend(down('Min'), 80, times(80, 7), EMPTY_HISTORY, T0)).toMatchObject({ desired: 75, limitedBy: 'policy' });
    const disabled = recommend(down('Disabled'), 6, times(6, 7), EMPTY_HISTORY, T0);
    expect(disabled).toMatchObject({ desired: 6, raw: 1, limitedBy: 'policy' });
    expect(disabled.reason).toBe('usage 7 % of 70 % target on 6 tasks → 1, limited to 6 by the scale-down policies (scale-down is disabled: selectPolicy Disabled)');
  });
});

describe('minReplicas and maxReplicas (code: reconcileAutoscaler, convertDesiredReplicasWithBehaviorRate)', () => {
  it('a count outside [min, max] goes to the bound at once, without metrics', () => {
    const above = recommend(ARCHITECTURE_SCALING, 12, [], EMPTY_HISTORY, T0);
    expect(above).toMatchObject({ desired: 10, limitedBy: 'max', pinnedAtMax: false });
    expect(above.reason).toBe('12 tasks is above maxReplicas 10: scale in 12 → 10');
    expect(above.history.events).toEqual([{ at: T0, delta: -2 }]);
    expect(recommend(ARCHITECTURE_SCALING, 1, [], EMPTY_HISTORY, T0)).toMatchObject({ desired: 2, limitedBy: 'min', reason: '1 task is below minReplicas 2: scale out 1 → 2' });
  });

  it('at maxReplicas with load asking for more: pinned at max', () => {
    const decision = recommend(FAST, 10, times(10, 90), EMPTY_HISTORY, T0);
    expect(decision).toMatchObject({ desired: 10, raw: 13, limitedBy: 'max', pinnedAtMax: true });
    expect(decision.reason).toBe('usage 90 % of 70 % target on 10 tasks → 13, capped at maxReplicas 10');
  });

  it('a count of 0 turns autoscaling off (docs: Implicit maintenance-mode deactivation)', () => {
    expect(recommend(ARCHITECTURE_SCALING, 0, times(2, 300), EMPTY_HISTORY, T0)).toMatchObject({ desired: 0, limitedBy: 'disabled' });
  });
});

describe('missing metrics and tasks not yet ready (docs: Algorithm details; code: GetResourceReplicas, groupPods)', () => {
  it('on a scale-up, tasks not yet ready count as 0 %, dampening it: 2 at 140 % and 2 starting average 70 %, nothing changes', () => {
    const decision = recommend(FAST, 4, [...tasks(140, 140), ...starting(undefined, 250)], EMPTY_HISTORY, T0);
    expect(decision).toMatchObject({ desired: 4, utilization: 140, limitedBy: 'tolerance' });
    expect(decision.reason).toBe('usage 140 % of 70 % target on 2 tasks (70 % counting 2 tasks not yet ready at 0 %) is within the tolerance (more above 70 %, fewer below 30 %): stays at 4');
  });

  it('otherwise tasks not yet ready are set aside: their (start-up) CPU is ignored and the count is of the ready tasks', () => {
    expect(recommend(hpa(), 3, [...tasks(14, 14), ...starting(300)], EMPTY_HISTORY, T0)).toMatchObject({ desired: 1, raw: 1, utilization: 14 });
    // ceil(0.7 × 2 ready) = 2, not ceil(0.7 × 4 running) = 3 (code: readyPodCount).
    expect(recommend(hpa(), 4, [...tasks(49, 49), ...starting(undefined, 10)], EMPTY_HISTORY, T0)).toMatchObject({ desired: 2, raw: 2 });
  });

  it('on a scale-down, a task without a sample counts as using 100 % of its reservation', () => {
    const decision = recommend(hpa(), 3, tasks(10, 10, undefined), EMPTY_HISTORY, T0);
    expect(decision).toMatchObject({ desired: 2, raw: 2, utilization: 10 });
    expect(decision.reason).toBe('usage 10 % of 70 % target on 2 tasks (40 % counting 1 task without a sample at 100 %) → 2: scale in 3 → 2');
    // Above a 100 % target, the target (code: max(100, targetUtilization)): (50 + 50 + 150) / 3 = 83 % of 150 %.
    expect(recommend(hpa({ targetUtilizationPercent: 150 }), 3, tasks(50, 50, undefined), EMPTY_HISTORY, T0).reason).toBe(
      'usage 50 % of 150 % target on 2 tasks (83 % counting 1 task without a sample at 150 %) → 2: scale in 3 → 2',
    );
  });

  it('on a scale-up, a task without a sample counts as 0 %', () => {
    const decision = recommend(FAST, 3, tasks(140, 140, undefined), EMPTY_HISTORY, T0);
    expect(decision).toMatchObject({ desired: 4, raw: 4 });
    expect(decision.reason).toBe('usage 140 % of 70 % target on 2 tasks (93 % counting 1 task without a sample at 0 %) → 4: scale out 3 → 4');
    expect(recommend(FAST, 3, tasks(210, undefined, undefined), EMPTY_HISTORY, T0)).toMatchObject({ desired: 3, limitedBy: 'tolerance' });
  });

  it('nothing changes when counting them reverses the direction (docs: "If the new ratio reverses the scale direction … doesn\'t take any scaling action")', () => {
    // 60 % recommends fewer; with 3 tasks at 100 % the mean is 90 %: more.
    const decision = recommend(hpa(), 4, tasks(60, undefined, undefined, undefined), EMPTY_HISTORY, T0);
    expect(decision).toMatchObject({ desired: 4, raw: 4, limitedBy: 'reversal' });
    expect(decision.reason).toBe('usage 60 % of 70 % target on 1 task (90 % counting 3 tasks without a sample at 100 %) would reverse the direction once the tasks without a sample or not yet ready are counted: stays at 4');
  });

  it('nor when the count of tasks counted would reverse it (code: newReplicas > currentReplicas on a scale-down)', () => {
    // 5 tasks while the service's count is 2 (an update under way): ceil(0.857 × 5) = 5 > 2.
    expect(recommend(hpa(), 2, tasks(50, 50, 50, 50, undefined), EMPTY_HISTORY, T0)).toMatchObject({ desired: 2, limitedBy: 'reversal' });
  });

  it('no samples at all: nothing changes, and it says why (code: "no pods returned by selector", "did not receive metrics for targeted pods")', () => {
    const none = recommend(ARCHITECTURE_SCALING, 3, [], EMPTY_HISTORY, T0);
    expect(none).toMatchObject({ desired: 3, raw: 3, limitedBy: 'no-metrics', reason: 'no tasks reported (HPA: no pods returned by selector): stays at 3' });
    const unmeasured = recommend(ARCHITECTURE_SCALING, 3, [...starting(90, undefined), ...tasks(undefined)], EMPTY_HISTORY, T0);
    expect(unmeasured).toMatchObject({ desired: 3, limitedBy: 'no-metrics', reason: 'no CPU sample from a ready task (3 tasks: 2 not yet ready, 1 without a sample): stays at 3' });
    // No recommendation is recorded for the windows (only the first sight's).
    expect(unmeasured.history).toEqual({ recommendations: [{ at: T0, replicas: 3 }], events: [] });
  });
});

describe('history', () => {
  it('is pruned to the longest stabilization window and the longest policy period', () => {
    const history: ScaleHistory = {
      recommendations: [
        { at: T0 - 700, replicas: 9 },
        { at: T0 - 599, replicas: 4 },
      ],
      events: [
        { at: T0 - 20, delta: 2 },
        { at: T0 - 10, delta: 1 },
      ],
    };
    const decision = recommend(ARCHITECTURE_SCALING, 4, times(4, 50), history, T0);
    expect(decision.history).toEqual({
      recommendations: [
        { at: T0 - 599, replicas: 4 },
        { at: T0, replicas: 4 },
      ],
      events: [{ at: T0 - 10, delta: 1 }],
    });
  });

  it('keeps the newest recommendation when all are older, as the mark of a service already seen', () => {
    const history: ScaleHistory = { recommendations: [{ at: T0 - 2000, replicas: 5 }, { at: T0 - 1000, replicas: 4 }], events: [] };
    expect(recommend(ARCHITECTURE_SCALING, 4, [], history, T0).history.recommendations).toEqual([{ at: T0 - 1000, replicas: 4 }]);
    // Seen before: no new seed at the current count, so a sustained scale-up is not held again from scratch.
    const decision = recommend(architectureScaling({ scaleUpWindowSeconds: 300 }), 4, times(4, 90), history, T0);
    expect(decision).toMatchObject({ desired: 6, raw: 6 });
  });

  it('is not modified: the judgement is pure', () => {
    const history = deepFreeze<ScaleHistory>({ recommendations: [{ at: T0 - 30, replicas: 3 }], events: [{ at: T0 - 5, delta: 1 }] });
    const samples = deepFreeze(times(3, 84));
    const first = recommend(ARCHITECTURE_SCALING, 3, samples, history, T0);
    expect(recommend(ARCHITECTURE_SCALING, 3, samples, history, T0)).toEqual(first);
    expect(history.recommendations).toHaveLength(1);
  });
});

describe('the architecture\'s rule', () => {
  it('2–10 tasks at a 70 % target; more above 70 % for 5 minutes, fewer below 30 % for 10 minutes; the default policies', () => {
    expect(ARCHITECTURE_SCALING).toEqual({
      targetUtilizationPercent: 70,
      minReplicas: 2,
      maxReplicas: 10,
      behavior: {
        scaleUp: { stabilizationWindowSeconds: 300, tolerance: 0, policies: HPA_DEFAULT_BEHAVIOR.scaleUp.policies, selectPolicy: 'Max' },
        scaleDown: { stabilizationWindowSeconds: 600, tolerance: 0.572, policies: HPA_DEFAULT_BEHAVIOR.scaleDown.policies, selectPolicy: 'Max' },
      },
    });
    // 1 − 30/70 = 4/7, rounded up at milli precision: any value in [4/7, 41/70) decides the same.
    expect(scaleDownToleranceFor(30, 70)).toBeGreaterThanOrEqual(4 / 7);
    expect(scaleDownToleranceFor(30, 70)).toBeLessThan(41 / 70);
    expect(scaleDownToleranceFor(35, 70)).toBe(0.5);
  });

  it('HPA\'s default behavior as documented (docs: Default behavior)', () => {
    expect(HPA_DEFAULT_BEHAVIOR).toEqual({
      scaleUp: {
        stabilizationWindowSeconds: 0,
        tolerance: 0.1,
        policies: [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ],
        selectPolicy: 'Max',
      },
      scaleDown: { stabilizationWindowSeconds: 300, tolerance: 0.1, policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }], selectPolicy: 'Max' },
    });
  });

  it('its windows can be shortened, nothing else changes', () => {
    const short = architectureScaling({ scaleUpWindowSeconds: 30, scaleDownWindowSeconds: 60 });
    expect(short.behavior.scaleUp).toEqual({ ...ARCHITECTURE_SCALING.behavior.scaleUp, stabilizationWindowSeconds: 30 });
    expect(short.behavior.scaleDown).toEqual({ ...ARCHITECTURE_SCALING.behavior.scaleDown, stabilizationWindowSeconds: 60 });
    expect({ ...short, behavior: undefined }).toEqual({ ...ARCHITECTURE_SCALING, behavior: undefined });
  });
});
