/** Gate L4: user journeys through Traefik, pinned to one color with `X-Parity-Color`. */
import type { Color } from '../../../services/config/schema.js';
import type { Clock } from '../core/poll.js';
import { GateFailure } from './gate.js';
import type { HttpClient, HttpResult } from '../core/http.js';
import { COLOR_HEADER, VERSION_HEADER, headerKey } from '../../../services/contracts/index.js';

/** Each journey's last status and how many tries it took. */
export type SmokeJourneys = Record<string, { readonly status: number; readonly attempts: number }>;

/** Register + log in, chat, list events, read an article, load the home page — pinned to `color`. */
export async function runSmoke(http: HttpClient, https: string, color: Color, version: string, clock: Clock): Promise<SmokeJourneys> {
  const journeys: Record<string, { status: number; attempts: number }> = {};
  const pinned = { [COLOR_HEADER]: color };
  const attempt = async (name: string, send: () => Promise<HttpResult>, expectPinned = true): Promise<HttpResult> => {
    let last: HttpResult | undefined;
    let lastError: unknown;
    // Up to 5 tries: the gate proves the journeys work; error rates are the canary's job. (With 3, a
    // version failing 20 % of requests failed a journey three times in a row in ~3 % of deploys:
    // rolled back at L4 instead of by the canary's judgement.)
    for (let tries = 1; tries <= 5; tries += 1) {
      if (tries > 1) await clock.sleep(500 * tries);
      try {
        last = await send();
        const okStatus = last.status >= 200 && last.status < 300;
        const okColor = !expectPinned || (last.headers[headerKey(COLOR_HEADER)] === color && last.headers[headerKey(VERSION_HEADER)] === version);
        if (okStatus && okColor) {
          journeys[name] = { status: last.status, attempts: tries };
          return last;
        }
      } catch (error) {
        lastError = error;
      }
    }
    throw new GateFailure('L4', [`${name}: ${last ? `HTTP ${last.status}, color ${String(last.headers[headerKey(COLOR_HEADER)])}, version ${String(last.headers[headerKey(VERSION_HEADER)])}: ${last.body.slice(0, 200)}` : String(lastError)}`]);
  };
  const json = { 'content-type': 'application/json' };
  const email = `smoke-${clock.now()}@parity.localhost`;
  await attempt('register', () => http(`${https}/auth/register`, { method: 'POST', headers: json, body: JSON.stringify({ email, password: 'smoke-test-password' }) }), false);
  const login = await attempt('log in', () => http(`${https}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ email, password: 'smoke-test-password' }) }), false);
  const token = (JSON.parse(login.body) as { accessToken: string }).accessToken;
  const auth = { ...pinned, authorization: `Bearer ${token}` };
  await attempt('post a chat', () => http(`${https}/api/chat`, { method: 'POST', headers: { ...json, ...auth }, body: JSON.stringify({ message: 'Where are the community events?' }) }));
  await attempt('list events', () => http(`${https}/api/events`, { headers: pinned }));
  const articles = await attempt('list articles', () => http(`${https}/api/articles`, { headers: pinned }));
  const first = (JSON.parse(articles.body) as { articles: { id: string }[] }).articles[0];
  if (first) await attempt('read an article', () => http(`${https}/api/articles/${first.id}`, { headers: pinned }));
  await attempt('home page', () => http(`${https}/`, { headers: pinned }));
  return journeys;
}
