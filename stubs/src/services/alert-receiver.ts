/**
 * Alert receiver: Alertmanager's webhook target when no real one is configured. It records
 * each alert it gets with the severity route it came through, lists them at GET /alerts, so
 * operators (and the alert test) can see routing work.
 */
import { Counter } from 'prom-client';
import { z } from 'zod';
import { parseInput, type StubDefinition } from '../runtime/app.js';

interface ReceivedAlert {
  readonly receivedAt: string;
  readonly route: string;
  readonly status: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

/** Older alerts are dropped past this many: it is a recorder, not a store. */
const KEEP = 1000;

const Alert = z.object({ status: z.string(), labels: z.record(z.string(), z.string()).default({}), annotations: z.record(z.string(), z.string()).default({}) }).loose();

export const alertReceiver: StubDefinition = {
  clients: {},
  migrations: [],
  requires: [],
  async businessCheck() {
    return { recording: true };
  },
  routes(app, context) {
    const received: ReceivedAlert[] = [];
    const counter = new Counter({ name: 'parity_alerts_received_total', help: 'Alerts received, by route and status.', labelNames: ['route', 'status'], registers: [context.metrics.registry] });
    app.post('/alerts/:severity', async (request, reply) => {
      const { severity } = parseInput(z.object({ severity: z.string().regex(/^[a-z]{1,20}$/, 'a severity route name') }), request.params, 'params');
      const { alerts } = parseInput(z.object({ alerts: z.array(Alert) }).loose(), request.body, 'body');
      for (const alert of alerts) {
        received.push({ receivedAt: new Date().toISOString(), route: severity, status: alert.status, labels: alert.labels, annotations: alert.annotations });
        counter.inc({ route: severity, status: alert.status });
        request.log.warn({ route: severity, status: alert.status, labels: alert.labels }, 'alert received');
      }
      received.splice(0, Math.max(0, received.length - KEEP));
      return reply.send({ recorded: alerts.length });
    });
    app.get('/alerts', async (_request, reply) => reply.send(received));
  },
};
