/**
 * Checks on rendered output before anything is written: the compose file must satisfy the
 * compose-spec JSON schema (the same one Compose v2.40 validates with). A failure here is a
 * renderer bug, reported with the offending paths.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { ParityError } from '../../services/errors.js';
import { repoRoot } from './state.js';

export class RenderedOutputError extends ParityError {
  readonly exitCode = 1;
}

let validator: ValidateFunction | undefined;

function composeValidator(): ValidateFunction {
  if (!validator) {
    const schema = JSON.parse(readFileSync(join(repoRoot, 'services', 'render', 'compose-spec.json'), 'utf8'));
    // The schema names draft-07 by an https URL ajv doesn't know; the draft itself is built in.
    validator = new Ajv({ allErrors: true, strict: false, validateFormats: false, validateSchema: false }).compile(schema);
  }
  return validator;
}

/** Problems as `path: message` lines; empty when the object is a valid compose file. */
export function checkComposeSchema(compose: unknown): string[] {
  const validate = composeValidator();
  if (validate(compose)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath || '/'}: ${error.message ?? 'invalid'}${error.params ? ` ${JSON.stringify(error.params)}` : ''}`);
}

export function assertComposeSchema(compose: unknown): void {
  const problems = checkComposeSchema(compose);
  if (problems.length > 0) {
    throw new RenderedOutputError(`the rendered compose file violates the compose-spec schema (a renderer bug):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}
