/** FAULT: how a deliberately bad version misbehaves. Pure, shared with `make deploy`'s input check. */
/** A deliberately bad version: a share of API requests answer 500, and/or every API request is slowed. */
export interface Fault {
  /** Share of `/api` requests that fail with 500, 0–1. @default 0 */
  readonly errorRate: number;
  /** Latency added to every `/api` request. @default 0 */
  readonly latencyMs: number;
}

/** `FAULT=error=0.2,latency=150ms` (either part optional; empty = healthy). */
export function parseFault(raw: string | undefined): Fault {
  const fault = { errorRate: 0, latencyMs: 0 };
  if (!raw?.trim()) return fault;
  for (const part of raw.split(',')) {
    const [key, value = ''] = part.split('=').map((piece) => piece.trim());
    if (key === 'error') {
      const rate = value.endsWith('%') ? Number(value.slice(0, -1)) / 100 : Number(value);
      if (!Number.isFinite(rate) || rate < 0 || rate > 1 || value === '') throw new Error(`FAULT: error must be a share 0–1 or a percentage (got "${value}")`);
      fault.errorRate = rate;
    } else if (key === 'latency') {
      const match = /^(\d+)(ms|s)?$/.exec(value);
      if (!match) throw new Error(`FAULT: latency must be like 150ms or 2s (got "${value}")`);
      fault.latencyMs = Number(match[1]) * (match[2] === 's' ? 1000 : 1);
    } else {
      throw new Error(`FAULT: unknown part "${part}", expected error=<share> and/or latency=<ms>`);
    }
  }
  return fault;
}
