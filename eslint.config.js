import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'processor/dist/', '.myt/', 'bin/', 'coverage/', 'tests/fixtures/', 'src/config/validators.generated.ts', 'processors/', 'templates/', 'reports/', '.stryker-tmp/', 'actions/runtime/', 'actions/*/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['eslint.config.js', 'stryker.config.mjs', 'scripts/stryker-ignore-messages.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
