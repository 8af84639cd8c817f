// @ts-check
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['node_modules/', '.data/', 'test/artifacts/', 'public/', '.sequelizerc']),
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      // ESLint 10 looks for a config from each file's directory up: anchor the TypeScript
      // project at this file's directory, whatever the working directory.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test awaits the promises its test() and describe() return.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  // The layers, checked: what each folder may import.
  {
    files: ['src/controllers/**/*.ts', 'src/routes/**/*.ts', 'src/validators/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // models/fields.js holds plain rules (lengths, patterns) every layer shares.
              group: ['**/models/*', '**/db/**', 'sequelize', 'pg', '!**/models/fields.js'],
              message: 'Controllers, routes and validators reach the database only through a service.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/services/**/*.ts', 'src/mail/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['express', '**/middleware/**', '**/controllers/**', '**/routes/**'],
              message: 'Services (and the mail sender) take plain input and never see a request or a response.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/models/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'express',
                '**/services/**',
                '**/controllers/**',
                '**/routes/**',
                '**/middleware/**',
                '**/validators/**',
              ],
              message: 'Models know nothing above them.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', process: 'readonly' },
    },
    // Plain CommonJS read by sequelize-cli: not type-checked, so `any` is all it has.
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
