/** The auth stub (`/app/auth.mjs` in the image): a bundle of its own code and the clients it uses. */
import { runStub } from '../runtime/start.js';
import { auth } from '../services/auth.js';

await runStub('auth', auth);
