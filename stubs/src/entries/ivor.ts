/** The ivor stub (`/app/ivor.mjs` in the image): a bundle of its own code and the clients it uses. */
import { runStub } from '../runtime/start.js';
import { ivor } from '../services/ivor.js';

await runStub('ivor', ivor);
