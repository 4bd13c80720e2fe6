/** The stack's HTTPS client: trusts the stack's own CA, no connection reuse (each request is routed afresh). */
import { request as httpsRequest, Agent } from 'node:https';
import { request as httpRequest } from 'node:http';
import { readFile } from 'node:fs/promises';
import { formatDuration, TimeoutError } from '../../services/errors.js';

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

/**
 * A client for `https://` (with the CA in `caFile`) and plain `http://` URLs. `keepAlive`: reuse
 * connections as a browser does (a drill's users); off by default, so each request is routed afresh.
 */
export function createClient(caFile: string, clientOptions: { readonly keepAlive?: boolean } = {}): HttpClient {
  let agent: Agent | undefined;
  return async (url, options = {}) => {
    const secure = url.startsWith('https:');
    // The CA is read on the first https request: plain-http users need no CA file.
    if (secure) agent ??= new Agent({ ca: await readFile(caFile), keepAlive: clientOptions.keepAlive ?? false });
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const request = (secure ? httpsRequest : httpRequest)(
        url,
        { method: options.method ?? 'GET', headers: options.headers ?? {}, ...(secure ? { agent } : {}), timeout: timeoutMs },
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
