// Lint for the TypeScript in src/ (type-aware) and the JavaScript around it
// (test/, bench/, scripts/, examples/, esm/). Formatting is prettier's job:
// eslint-config-prettier turns off the rules that would fight it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'prebuilds/', 'node_modules/', 'bench/.cache/', 'docs/'] },
  js.configs.recommended,
  {
    files: ['src/**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
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
