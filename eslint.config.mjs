// Lint for the TypeScript in src/ (type-aware) and the JavaScript around it
// (test/, bench/, scripts/, examples/, esm/). Formatting is prettier's job:
// eslint-config-prettier turns off the rules that would fight it. A disable
// comment must say why (`-- reason`) and must still be needed.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'prebuilds/', 'node_modules/', 'bench/.cache/', 'docs/'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  {
    files: ['src/**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Passing on what a catch caught, as it was, is not throwing a non-Error.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    files: ['esm/**/*.d.mts'],
    extends: [...tseslint.configs.recommended],
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
  },
  {
    files: ['test/**/*.js'],
    languageOptions: { globals: { ...globals.mocha } },
  },
  {
    files: ['**/*.mjs', '**/*.mts'],
    languageOptions: { sourceType: 'module', globals: { ...globals.node } },
  },
  prettier,
);
