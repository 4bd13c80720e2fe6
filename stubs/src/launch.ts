/**
 * The image's command (`/app/launch.mjs`): `SERVICE` picks the bundle to run, beside this one
 * (`/app/<service>.mjs`), in this same process. It imports nothing but the list of services, so
 * a stub loads only its own bundle.
 */
import { STUB_SERVICES } from '../../services/contracts/environment.js';

/**
 * An unknown or missing `SERVICE` is reported by a bundle's settings check, with every other
 * problem, and exit 2; any bundle would do, this one is the smallest.
 */
const REPORTER = 'alert-receiver';

const requested = process.env.SERVICE ?? '';
const bundle = (STUB_SERVICES as readonly string[]).includes(requested) ? requested : REPORTER;
// A URL built at run time: the bundler leaves the import alone instead of inlining every service.
await import(new URL(`./${bundle}.mjs`, import.meta.url).href);
