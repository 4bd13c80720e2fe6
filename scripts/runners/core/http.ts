/** The stack's HTTPS client: trusts the stack's own CA, no connection reuse (each request is routed afresh). */
import { request as httpsRequest, Agent } from 'node:https';
import { request as httpRequest } from 'node:http';
import { readFile } from 'node:fs/promises';
import { formatDuration, TimeoutError } from '../../../services/errors.js';

export interface HttpResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export interface HttpRequestOptions {
  /** @default 'GET' */
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** @default 10000 */
  readonly timeoutMs?: number;
}

/** One request; rejects on connection errors and timeouts, resolves with any HTTP status. */
export type HttpClient = (url: string, options?: HttpRequestOptions) => Promise<HttpResult>;

export interface ClientOptions {
  /** Reuse connections as a browser does (a drill's users); off by default, so each request is routed afresh. */
  readonly keepAlive?: boolean;
  /**
   * Client addresses on the loopback range to send from, one after the other per request (each
   * with its own connections): the many users the front sees, each with its own rate-limit bucket.
   * @default the host's choice (127.0.0.1)
   */
  readonly sources?: readonly string[];
}

/**
 * `count` users' addresses, `127.0.<third>.1` … `.250` then the next third octet: loopback, so the
 * load never leaves the machine, and each one a client of its own to the front.
 */
export function userAddresses(count: number, third = 3): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.${third + Math.floor(i / 250)}.${(i % 250) + 1}`);
}

/** A client for `https://` (with the CA in `caFile`) and plain `http://` URLs. */
export function createClient(caFile: string, clientOptions: ClientOptions = {}): HttpClient {
  const agents = new Map<string, Agent>();
  let ca: Buffer | undefined;
  let next = 0;
  const sources = clientOptions.sources?.length ? clientOptions.sources : [''];
  return async (url, options = {}) => {
    const secure = url.startsWith('https:');
    const source = sources[next++ % sources.length]!;
    // The CA is read on the first https request: plain-http users need no CA file.
    if (secure) ca ??= await readFile(caFile);
    let agent = secure ? agents.get(source) : undefined;
    if (secure && !agent) {
      agent = new Agent({ ca, keepAlive: clientOptions.keepAlive ?? false, ...(source ? { localAddress: source } : {}) });
      agents.set(source, agent);
    }
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const request = (secure ? httpsRequest : httpRequest)(
        url,
        { method: options.method ?? 'GET', headers: options.headers ?? {}, ...(secure ? { agent } : source ? { localAddress: source } : {}), timeout: timeoutMs },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
        },
      );
      request.on('timeout', () => request.destroy(new TimeoutError(`${url}: expected an answer within ${formatDuration(timeoutMs)}; none came`, timeoutMs)));
      request.on('error', reject);
      request.end(options.body);
    });
  };
}
