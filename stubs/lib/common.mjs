// Shared by the placeholder stubs: JSON responses, Prometheus text metrics, TCP reachability,
// graceful shutdown. Plain Node (no packages): the stubs run on the catalog's Node image with
// this folder mounted read-only. The full stubs (issue #4) replace these with prom-client etc.
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';

export function json(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** The value of VAR, or the content of the file VAR_FILE names (compose secrets). */
export function secret(name) {
  if (process.env[name]) return process.env[name];
  const file = process.env[`${name}_FILE`];
  return file ? readFileSync(file, 'utf8').trim() : undefined;
}

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const counters = new Map();
const histograms = new Map();

function key(labels) {
  return Object.entries(labels).map(([k, v]) => `${k}="${String(v).replace(/"/g, '\\"')}"`).join(',');
}

export function observeRequest(route, status, seconds) {
  const labels = key({ route, status: String(status) });
  counters.set(labels, (counters.get(labels) ?? 0) + 1);
  const hkey = key({ route });
  const h = histograms.get(hkey) ?? { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
  BUCKETS.forEach((le, i) => { if (seconds <= le) h.buckets[i] += 1; });
  h.sum += seconds;
  h.count += 1;
  histograms.set(hkey, h);
}

export function renderMetrics(extra = '') {
  const lines = ['# TYPE http_requests_total counter'];
  for (const [labels, value] of counters) lines.push(`http_requests_total{${labels}} ${value}`);
  lines.push('# TYPE http_request_duration_seconds histogram');
  for (const [labels, h] of histograms) {
    BUCKETS.forEach((le, i) => lines.push(`http_request_duration_seconds_bucket{${labels},le="${le}"} ${h.buckets[i]}`));
    lines.push(`http_request_duration_seconds_bucket{${labels},le="+Inf"} ${h.count}`);
    lines.push(`http_request_duration_seconds_sum{${labels}} ${h.sum}`);
    lines.push(`http_request_duration_seconds_count{${labels}} ${h.count}`);
  }
  return `${lines.join('\n')}\n${extra}`;
}

/** Can we open a TCP connection to host:port within timeoutMs? */
export function reachable(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ host, port: Number(port) });
    const done = (ok) => {
      socket.destroy();
      resolve({ ok, ms: Date.now() - started });
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Serve `handler`, counting every request in the metrics; stop cleanly on SIGTERM. */
export function serve(handler, port = Number(process.env.PORT ?? 3000)) {
  const server = createServer(async (req, res) => {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://stub');
    res.on('finish', () => {
      if (url.pathname !== '/metrics' && url.pathname !== '/health') {
        observeRequest(url.pathname.split('/').slice(0, 3).join('/') || '/', res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
      }
    });
    try {
      await handler(req, res, url);
    } catch (error) {
      json(res, 500, { error: String(error) });
    }
  });
  server.listen(port, '0.0.0.0');
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return server;
}

export async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
