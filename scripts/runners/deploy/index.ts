/**
 * Blue/green deploys and rollbacks on a running stack. A deploy starts the idle color with the
 * new version, passes the gates (L1–L3 health of every service, L4 smoke journeys through
 * Traefik pinned to the idle color), then moves traffic 5 % → 25 % → 100 % while Prometheus
 * (Traefik's service metrics) judges the new color, drains the old one, and writes a report.
 * Any failed gate sends all traffic back to the old color and stops the new one.
 */
export { deploy, type DeployOptions } from './deploy.js';
export { rollback } from './rollback.js';
export { createDeployClients, type DeployClients, type DeployStore } from './clients.js';
export { discoverEndpoints, type Endpoints } from './containers.js';
export { createClient, type HttpClient, type HttpResult } from '../core/http.js';
export { summarize, type DeployReport, type RollbackReport } from './report.js';
export type { DeployRun } from './phases.js';
