/**
 * What the compose file and the stack file render the same way from a service: its environment
 * (with GOMEMLIMIT), its limits and its health check. Pure.
 */
import type { Topology } from '../topology/index.js';
import { memoryMiB } from '../topology/hardening.js';
import type { ServiceSpec } from '../topology/types.js';

/** The share of a Go container's memory limit its runtime aims to stay under (GOMEMLIMIT). */
export const GO_MEMLIMIT_SHARE = 0.8;


/** The service's environment, with GOMEMLIMIT for a Go program under a memory limit. */
export function withGoMemLimit(service: ServiceSpec, limit: string | undefined): Record<string, string> | undefined {
  const environment = { ...(service.environment ?? {}) };
  if (service.goRuntime && limit && environment.GOMEMLIMIT === undefined) environment.GOMEMLIMIT = `${Math.floor(memoryMiB(limit) * GO_MEMLIMIT_SHARE)}MiB`;
  return Object.keys(environment).length ? environment : undefined;
}

/** A service's limits: `resources.<service>` from the config, else the model's memory default; undefined without any. */
export function resourcesOf(service: ServiceSpec, topology: Topology): { memory?: string; cpus?: string } | undefined {
  const resources = topology.config.resources[service.logical as keyof typeof topology.config.resources];
  const memory = resources?.memory ?? service.memory;
  const cpus = resources?.cpus;
  if (memory === undefined && cpus === undefined) return undefined;
  return { ...(memory !== undefined ? { memory } : {}), ...(cpus !== undefined ? { cpus: String(cpus) } : {}) };
}

/** The health check as compose and the stack file write it: a job's disabled, and one judged by a probe from outside. */
export function healthcheckOf(service: ServiceSpec, peers = false): Record<string, unknown> {
  const health = (peers && service.peerHealthcheck) || service.healthcheck;
  return service.job || service.probedBy
    ? { disable: true }
    : {
        test: [...health.test],
        interval: health.interval ?? '5s',
        timeout: health.timeout ?? '3s',
        retries: health.retries ?? 30,
        start_period: health.startPeriod ?? '5s',
      };
}

/** `image` behind its variables, the first set one winning: `${A:-${B:-image}}` (compose interpolates nested defaults). */
export function imageOf(service: ServiceSpec): string {
  return (service.imageVariables ?? []).reduceRight((inner, variable) => `\${${variable}:-${inner}}`, service.image);
}
