/**
 * The token-signing keys: a new Ed25519 key signs from now on; the previous one stays in both key
 * sets, so tokens it signed verify until they expire. The stubs read the key files again every
 * 10 s (at once when a token names a kid they don't know), so no container restarts.
 */
import { formatDuration, RotationError, TimeoutError } from '../../../services/errors.js';
import { pending, done, pollUntil } from '../core/poll.js';
import { PUBLIC_KEYS_SECRET, SIGNING_KEYS_SECRET, rotateSigningKeys } from '../stack/signing-keys.js';
import { fetchStub } from '../clients/stub-http.js';
import { rewriteCopies } from './copies.js';
import type { RotationStep } from './steps.js';

interface SigningKeysRotation {
  readonly signingKid: string;
  readonly previousKid?: string;
  readonly copies: readonly string[];
}

export const signingKeysStep: RotationStep<SigningKeysRotation> = {
  name: 'signing-keys',
  rotates: 'the token-signing keys (jwt_signing_keys, jwt_public_keys): a new Ed25519 key signs, the previous one verifies until its tokens expire',
  async run({ target, progress }) {
    const [signingKid, previousKid] = await rotateSigningKeys(target.stateDir);
    progress.info(`signing-keys: new key ${signingKid}${previousKid ? `; ${previousKid} kept for the tokens it signed` : ''}`);
    const copies = await rewriteCopies(target.stateDir, [SIGNING_KEYS_SECRET, PUBLIC_KEYS_SECRET]);
    return { signingKid: signingKid!, ...(previousKid ? { previousKid } : {}), copies };
  },
  async check({ target, timeoutMs }, state) {
    let last = '';
    try {
      await pollUntil(
        async () => {
          last = (await fetchStub(target, 'auth', '/health')).text;
          return last.includes(`"${state.signingKid}"`) ? done(true) : pending(last.slice(0, 300));
        },
        { subject: `auth signing with ${state.signingKid}`, expectation: "auth's /health names the new key", timeoutMs },
      );
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      throw new RotationError(`auth did not sign with the new key ${state.signingKid} within ${formatDuration(timeoutMs)} (its /health: ${last.slice(0, 300)}); both keys stay valid, so nothing users hold broke`);
    }
    return {
      summary: `${state.signingKid} signs${state.previousKid ? `, ${state.previousKid} still verifies` : ''}; auth switched without a restart`,
      details: { signingKid: state.signingKid, previousKid: state.previousKid, copies: state.copies },
    };
  },
};
