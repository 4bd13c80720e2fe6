/**
 * The root of every named error in Parity: the model, the runners, the scripts and the stubs
 * all throw subclasses of it, so one `instanceof ParityError` tells a known failure (with its
 * exit code) from a programming error. It lives in the contracts because the stubs, which may
 * import nothing else from `services/`, extend it too; `services/errors.ts` re-exports it.
 */
export abstract class ParityError extends Error {
  /**
   * Process exit code a script ends with when this error reaches it: 2 for bad input (the
   * user can fix it by changing what they typed or configured), 1 for a failure of the work.
   */
  abstract readonly exitCode: number;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
