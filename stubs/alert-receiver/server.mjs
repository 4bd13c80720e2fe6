// The default Alertmanager receiver: records every webhook it gets, by severity, and lists
// them at GET /alerts, so tests and people can see what fired.
import { json, readBody, renderMetrics, serve } from '../lib/common.mjs';

const received = [];

serve(async (req, res, url) => {
  if (url.pathname === '/health') return json(res, 200, { status: 'ok', service: 'alert-receiver', received: received.length });
  if (url.pathname === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    return res.end(renderMetrics(`# TYPE parity_alerts_received_total counter\nparity_alerts_received_total ${received.length}\n`));
  }
  if (url.pathname.startsWith('/alerts') && req.method === 'POST') {
    const payload = JSON.parse(await readBody(req));
    const severity = url.pathname.split('/')[2] ?? 'unrouted';
    for (const alert of payload.alerts ?? []) {
      received.push({ receivedAt: new Date().toISOString(), route: severity, status: alert.status, labels: alert.labels, annotations: alert.annotations });
      console.log(`alert ${alert.status}: ${alert.labels?.alertname} ${JSON.stringify(alert.labels)}`);
    }
    return json(res, 200, { ok: true });
  }
  if (url.pathname === '/alerts') return json(res, 200, received);
  return json(res, 404, { error: 'not found' });
});
