/**
 * Alert receiver: Alertmanager's webhook target when no real one is configured. It records
 * what arrived per severity route so operators (and the alert test) can see routing work.
 */
import { z } from 'zod';
import { parseInput, type StubDefinition } from '../runtime/app.js';

interface Received {
  readonly severity: string;
  readonly receivedAt: string;
  readonly alerts: unknown[];
  readonly status: string;
}

const KEEP = 500;

export const alertReceiver: StubDefinition = {
  migrations: [],
  requires: [],
  async businessCheck() {
    return { recording: true };
  },
  routes(app) {
    const received: Received[] = [];
    app.post('/alerts/:severity', async (request, reply) => {
      const { severity } = parseInput(z.object({ severity: z.string().regex(/^[a-z]{1,20}$/) }), request.params, 'params');
      const body = parseInput(z.object({ status: z.string().default('unknown'), alerts: z.array(z.unknown()).default([]) }).loose(), request.body, 'body');
      received.push({ severity, receivedAt: new Date().toISOString(), alerts: body.alerts, status: body.status });
      if (received.length > KEEP) received.shift();
      return reply.send({ recorded: body.alerts.length });
    });
    app.get('/alerts', async (_request, reply) => reply.send({ received }));
  },
};
