// One vitest setup for every package: resolve workspace packages to their
// TypeScript sources through the "@skymesh/source" export condition, and
// write a JSON report that scripts/test-summary.mjs adds up.
import { defaultServerConditions, mergeConfig, type UserConfig } from 'vite';
import { defineConfig } from 'vitest/config';

const conditions = ['@skymesh/source', ...defaultServerConditions];

export function skymeshTestConfig(extra: UserConfig = {}): UserConfig {
  return mergeConfig(
    defineConfig({
      resolve: { conditions },
      ssr: { resolve: { conditions, externalConditions: conditions } },
      test: {
        include: ['test/**/*.test.ts'],
        testTimeout: 30_000,
        hookTimeout: 30_000,
        pool: 'forks',
        reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
      },
    }),
    extra,
  );
}
