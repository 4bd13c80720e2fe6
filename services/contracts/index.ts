/**
 * The contract between the generator (`services/`), the runners (`scripts/runners/`) and the
 * stubs (`stubs/src`): what each side may rely on the others to write, send and accept. Pure,
 * and the only part of `services/` the stubs may import (a lint rule says so).
 */
export * from './environment.js';
export * from './errors.js';
export * from './fault.js';
export * from './http.js';
export * from './version.js';
export * from './routes.js';
export * from './migrations.js';
export * from './wal.js';
