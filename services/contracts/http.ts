/**
 * What travels over HTTP between Traefik, the runners, the tests and the stubs: the port every
 * stub listens on and the `X-Parity-*` headers. HTTP header names are case-insensitive; these
 * are the canonical spellings. Node's `IncomingHttpHeaders` keys them in lower case, hence
 * `headerKey`.
 */

/** Port every stub listens on inside its container (compose, Traefik, Prometheus and tests reach it there). */
export const STUB_PORT = 3000;

/**
 * Both ways: on a request it pins the request to one color (Traefik routes on it; the deploy's
 * smoke tests send it); on a response it names the color that answered (the stub's `COLOR`).
 */
export const COLOR_HEADER = 'X-Parity-Color';

/** Response header: the `VERSION` of the stub that answered, so blue and green can be told apart. */
export const VERSION_HEADER = 'X-Parity-Version';

/** Response header: which stub service answered (its `SERVICE`). */
export const SERVICE_HEADER = 'X-Parity-Service';

/** Response header: the fallbacks served (comma-separated) when a dependency was unavailable. */
export const FALLBACK_HEADER = 'X-Parity-Fallback';

/** Response header: where a read went, `primary` or `replica` (read-your-writes routing). */
export const READ_FROM_HEADER = 'X-Parity-Read-From';

/** A header name as Node's `IncomingHttpHeaders` (and Fastify's inject) key it: lower case. */
export const headerKey = <Name extends string>(name: Name): Lowercase<Name> => name.toLowerCase() as Lowercase<Name>;
