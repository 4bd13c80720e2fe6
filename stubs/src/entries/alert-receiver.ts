/** The alert-receiver stub (`/app/alert-receiver.mjs` in the image): a bundle of its own code and the clients it uses. */
import { runStub } from '../runtime/start.js';
import { alertReceiver } from '../services/alert-receiver.js';

await runStub('alert-receiver', alertReceiver);
