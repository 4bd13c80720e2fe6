/** The compose-spec validator compiled ahead of time (compose-spec.validate.cjs, `make compose-validator`). */
import type { ValidateFunction } from 'ajv';

declare const validate: ValidateFunction;
export = validate;
