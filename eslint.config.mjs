// @ts-check
import tseslint from 'typescript-eslint';

/** Module boundaries: a lib never imports an app, and apps never import each other. */
const appImports = ['**/apps/**', '../apps/*', '../../apps/*'];
const boundary = (/** @type {string[]} */ forbidden, /** @type {string} */ message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: forbidden, message }] }],
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.data/**', '**/*.mjs', '**/*.js'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['libs/**/*.ts'],
    rules: boundary(appImports, 'A lib never imports an app.'),
  },
  {
    files: ['apps/enforcer/**/*.ts'],
    rules: boundary(
      ['**/control-plane/**', '**/dev-issuer/**', '**/sample-upstream/**'],
      'The enforcer never imports another app; share code through libs/.',
    ),
  },
  {
    files: ['apps/control-plane/**/*.ts'],
    rules: boundary(
      ['**/enforcer/**', '**/dev-issuer/**', '**/sample-upstream/**'],
      'The control plane never imports another app; share code through libs/.',
    ),
  },
  {
    files: ['**/*.spec.ts', '**/*-spec.ts', 'e2e/**/*.ts', '**/*.test-support.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
