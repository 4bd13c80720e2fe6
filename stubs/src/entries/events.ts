/** The events stub (`/app/events.mjs` in the image): a bundle of its own code and the clients it uses. */
import { runStub } from '../runtime/start.js';
import { events } from '../services/events.js';

await runStub('events', events);
