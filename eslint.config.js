import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.parity/**', 'compose/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The stubs are plain Node modules; Node's globals (process, Buffer, URL…) are defined there.
    files: ['stubs/**/*.mjs'],
    languageOptions: { sourceType: 'module', globals: { process: 'readonly', Buffer: 'readonly', URL: 'readonly', console: 'readonly', fetch: 'readonly', setTimeout: 'readonly' } },
  },
  {
    // The model and the renderers are pure: no I/O, no processes, no containers.
    files: ['services/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:fs', 'node:fs/*', 'fs', 'fs/*'], message: 'services/ is pure: file I/O belongs in scripts/runners.' },
            { group: ['node:child_process', 'child_process', 'zx', 'zx/*'], message: 'services/ is pure: commands belong in scripts/runners.' },
            { group: ['testcontainers', '@testcontainers/*'], message: 'services/ is pure: containers belong in runners and tests.' },
          ],
        },
      ],
    },
  },
);
