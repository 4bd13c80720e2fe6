/** Prometheus' HTTP API, for the canary: each color's counters, one series each with all its labels. */
import type { Color } from '../../../services/config/schema.js';
import { colorCounterQueries, type ColorCounters, type CounterSeries } from '../../../services/deploy/policy.js';
import { formatDuration, ServiceAnswerError } from '../../../services/errors.js';

/** An instant query's series: labels (without the metric name) and value. */
export async function queryVector(prometheusUrl: string, query: string): Promise<CounterSeries[]> {
  const started = Date.now();
  const failed = (why: string) => new ServiceAnswerError(`Prometheus (${prometheusUrl}): query ${query} failed after ${formatDuration(Date.now() - started)}: ${why}; expected a vector (is the stack up? make status)`);
  type Answer = { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  let body: Answer;
  try {
    body = (await (await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`)).json()) as Answer;
  } catch (error) {
    throw failed((error as Error).message);
  }
  if (body.status !== 'success') throw failed(body.error ?? body.status);
  return (body.data?.result ?? []).map((entry) => {
    const { __name__: _name, ...labels } = entry.metric;
    return { labels, value: Number(entry.value[1]) };
  });
}

/** A color's counters as Prometheus last scraped them (fresh series only). */
export async function colorCounters(prometheusUrl: string, color: Color): Promise<ColorCounters> {
  const q = colorCounterQueries(color);
  const [requests, buckets] = await Promise.all([queryVector(prometheusUrl, q.requests), queryVector(prometheusUrl, q.buckets)]);
  return { requests, buckets };
}

/** Both colors' counters now. */
export async function bothCounters(prometheusUrl: string): Promise<Record<Color, ColorCounters>> {
  const [blue, green] = await Promise.all([colorCounters(prometheusUrl, 'blue'), colorCounters(prometheusUrl, 'green')]);
  return { blue, green };
}
