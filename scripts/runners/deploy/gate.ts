/** The failure of a deploy gate, before it becomes the CLI's `DeployRolledBackError`. */
import { ParityError } from '../../../services/errors.js';

/** A gate that failed: carries its name and the figures that failed it. */
export class GateFailure extends ParityError {
  readonly exitCode = 1;
  constructor(
    readonly gate: string,
    readonly reasons: readonly string[],
  ) {
    super(`${gate}: ${reasons.join('; ')}`);
  }
}

/** What an abort (SIGINT/SIGTERM) turns into at the gate it reached. */
export const interrupted = (gate: string): GateFailure => new GateFailure(gate, ['interrupted (SIGINT/SIGTERM): rolling back']);
