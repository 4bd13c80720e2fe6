/** The drills' HTTP client: the deploy runner's (the stack's own CA, no connection reuse). */
import { createClient } from '../deploy.js';

export { createClient };
export type HttpClient = ReturnType<typeof createClient>;
