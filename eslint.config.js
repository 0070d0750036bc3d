// ESLint flat config: typescript-eslint's recommended rules over the whole tree (dist/ is the
// generated bundle); formatting is Prettier's job (.prettierrc.json), so eslint-config-prettier
// turns off the rules that would disagree with it.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.build/**', '.playground/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    // The playground stores and serves unstructured objects of any kind, as the API server does
    // (test/playground/types.ts): `any` is its object type, not an escape hatch.
    files: ['test/playground/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    rules: {
      // A closure may read a variable that is assigned once, later (a queue wired after its users).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
);
