// Placeholder application stub (frontend, IVOR, Events, Newsroom; blue or green) until the
// full stubs land (issue #4). It answers /health with the reachability of the dependencies the
// model gives it (DEPENDENCIES=host:port,...), /metrics, and echoes its identity elsewhere.
import { json, reachable, renderMetrics, serve } from '../lib/common.mjs';

const identity = { service: process.env.SERVICE ?? 'app', color: process.env.COLOR ?? 'blue', version: process.env.VERSION ?? '0.0.0' };
const headers = { 'x-parity-service': identity.service, 'x-parity-color': identity.color, 'x-parity-version': identity.version };
const dependencies = (process.env.DEPENDENCIES ?? '').split(',').filter(Boolean);

serve(async (req, res, url) => {
  if (url.pathname === '/health') {
    const checks = {};
    for (const dependency of dependencies) {
      const [host, port] = dependency.split(':');
      checks[host] = await reachable(host, port);
    }
    const ok = Object.values(checks).every((check) => check.ok);
    return json(res, ok ? 200 : 503, { status: ok ? 'ok' : 'degraded', ...identity, checks }, headers);
  }
  if (url.pathname === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    return res.end(renderMetrics());
  }
  return json(res, 200, { ...identity, path: url.pathname, method: req.method }, headers);
});
