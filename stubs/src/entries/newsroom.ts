/** The newsroom stub (`/app/newsroom.mjs` in the image): a bundle of its own code and the clients it uses. */
import { runStub } from '../runtime/start.js';
import { newsroom } from '../services/newsroom.js';

await runStub('newsroom', newsroom);
