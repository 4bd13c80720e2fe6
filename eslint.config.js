import globals from 'globals';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.parity/**', 'compose/**'] },
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
