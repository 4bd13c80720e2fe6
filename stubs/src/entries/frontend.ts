/** The frontend stub (`/app/frontend.mjs` in the image): a bundle of its own code and the clients it uses. */
import { runStub } from '../runtime/start.js';
import { frontend } from '../services/frontend.js';

await runStub('frontend', frontend);
