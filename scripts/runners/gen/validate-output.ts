/**
 * Checks on rendered output before anything is written: the compose file must satisfy the
 * compose-spec JSON schema (the same one Compose v2.40 validates with). A failure here is a
 * renderer bug, reported with the offending paths. The schema is compiled ahead of time
 * (compose-spec-code.ts): compiling it here took most of `make gen`'s time.
 */
import validate from '../../../services/render/compose-spec.validate.cjs';
import { ParityError } from '../../../services/errors.js';

export class RenderedOutputError extends ParityError {
  readonly exitCode = 1;
}

/** Problems as `path: message` lines; empty when the object is a valid compose file. */
export function checkComposeSchema(compose: unknown): string[] {
  if (validate(compose)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath || '/'}: ${error.message ?? 'invalid'}${error.params ? ` ${JSON.stringify(error.params)}` : ''}`);
}

export function assertComposeSchema(compose: unknown): void {
  const problems = checkComposeSchema(compose);
  if (problems.length > 0) {
    throw new RenderedOutputError(`the rendered compose file violates the compose-spec schema (a renderer bug):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}
