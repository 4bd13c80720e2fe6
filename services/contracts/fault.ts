/**
 * FAULT: how a deliberately bad version misbehaves. The stubs parse it at start and
 * `make deploy` checks it with the same parser, so what passes the deploy's input check is
 * exactly what the container accepts.
 */
import { ParityError } from './errors.js';

/** A deliberately bad version: a share of API requests answer 500, and/or every API request is slowed. */
export interface Fault {
  /** Share of `/api` requests that fail with 500, 0–1. @default 0 */
  readonly errorRate: number;
  /** Latency added to every `/api` request. @default 0 */
  readonly latencyMs: number;
}

/** A FAULT value that doesn't follow the grammar; the message names the part at fault. */
export class FaultSyntaxError extends ParityError {
  readonly exitCode = 2;
}

/** `FAULT=error=0.2,latency=150ms` (either part optional; empty = healthy). */
export function parseFault(raw: string | undefined): Fault {
  const fault = { errorRate: 0, latencyMs: 0 };
  if (!raw?.trim()) return fault;
  for (const part of raw.split(',')) {
    const [key, value = ''] = part.split('=').map((piece) => piece.trim());
    if (key === 'error') {
      const rate = value.endsWith('%') ? Number(value.slice(0, -1)) / 100 : Number(value);
      if (!Number.isFinite(rate) || rate < 0 || rate > 1 || value === '') throw new FaultSyntaxError(`FAULT: error must be a share 0–1 or a percentage (got "${value}")`);
      fault.errorRate = rate;
    } else if (key === 'latency') {
      const match = /^(\d+)(ms|s)?$/.exec(value);
      if (!match) throw new FaultSyntaxError(`FAULT: latency must be like 150ms or 2s (got "${value}")`);
      fault.latencyMs = Number(match[1]) * (match[2] === 's' ? 1000 : 1);
    } else {
      throw new FaultSyntaxError(`FAULT: unknown part "${part}", expected error=<share> and/or latency=<ms>`);
    }
  }
  return fault;
}
