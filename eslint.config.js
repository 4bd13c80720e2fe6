import globals from 'globals';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** services/ is pure: no I/O, no processes, no containers. */
const PURE = [
  { group: ['node:fs', 'node:fs/*', 'fs', 'fs/*'], message: 'services/ is pure: file I/O belongs in scripts/runners.' },
  { group: ['node:child_process', 'child_process', 'zx', 'zx/*'], message: 'services/ is pure: commands belong in scripts/runners.' },
  { group: ['testcontainers', '@testcontainers/*'], message: 'services/ is pure: containers belong in runners and tests.' },
];

/** The model is upstream of the runners and the stubs (relative imports that climb out of services/). */
const MODEL_LAYERS = [
  { regex: '^(\\.\\./)+stubs/', message: 'services/ must not import stubs/: what both sides need belongs in services/contracts.' },
  { regex: '^(\\.\\./)+scripts/', message: 'services/ must not import scripts/: the runners use the model, not the other way round.' },
];

/**
 * The runners' folders are layers: core ← clients, engine, gen ← stack ← the features (deploy,
 * drill, dr, rotate, supply, bench). A folder imports its own modules, services/ and the layers
 * below it (relative imports that climb one level into another runner folder). A layer is a
 * folder, or one module given by its path from scripts/runners/ (a regex).
 */
const runnerLayer = (folder, below, why) => ({
  files: [`scripts/runners/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: [{ regex: `^\\.\\./(?!\\.\\./${below.map((layer) => `|${layer.includes('/') ? layer : `${layer}/`}`).join('')})`, message: why }] },
    ],
  },
});

export default tseslint.config(
  // compose-spec.validate.cjs is ajv's generated code (make compose-validator).
  { ignores: ['node_modules/**', '.parity/**', 'compose/**', 'services/render/compose-spec.validate.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The frontend's browser script (served as is, no build step).
    files: ['stubs/public/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser } },
  },
  {
    // The model and the renderers are pure, and the data flows one way: the model knows
    // nothing of the runners or the stubs (what it shares with them is in services/contracts).
    files: ['services/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...PURE, ...MODEL_LAYERS] }] },
  },
  {
    // The contract is shared with the stubs, so it must not drag the rest of the model in.
    files: ['services/contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [...PURE, ...MODEL_LAYERS, { regex: '^\\.\\./', message: 'services/contracts is shared with the stubs: it imports nothing outside itself.' }] },
      ],
    },
  },
  {
    // The stubs are a separate program in their own image: from this repository they may use
    // the contract, nothing else.
    files: ['stubs/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^(\\.\\./)+scripts/', message: 'stubs/ must not import scripts/: the runners drive the stubs, not the other way round.' },
            { regex: '^(\\.\\./){2,}services/(?!contracts/)', message: 'stubs/ may import only services/contracts from services/ (the contract they share with the generator and the runners).' },
          ],
        },
      ],
    },
  },
  runnerLayer('core', [], 'scripts/runners/core is the bottom layer: it imports no other runner folder (only its own modules and services/).'),
  runnerLayer('engine', ['core'], 'scripts/runners/engine imports only core/ among the runner folders.'),
  runnerLayer('gen', ['core'], 'scripts/runners/gen imports only core/ among the runner folders.'),
  // The one exception: the compose adapter reads the deployed colors' images (stack/deploy-state.ts).
  runnerLayer('clients', ['core', 'stack/deploy-state\\.js$'], 'scripts/runners/clients imports only core/ among the runner folders (and stack/deploy-state.ts, the deployed images): the stack and the features use the clients.'),
  runnerLayer('stack', ['core', 'clients', 'engine', 'gen'], 'scripts/runners/stack must not import a feature folder (deploy, drill, dr, rotate, supply, bench, …): features use the stack.'),
);
