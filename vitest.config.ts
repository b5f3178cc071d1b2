import { defineConfig } from 'vitest/config';

// One runner for the whole workspace. Unit projects need no server; `integration` and
// `reliability` share one embedded backend per run (see integration/src/global-setup.ts).
const resolve = { conditions: ['source'] };

const unit = (name: string) => ({
  resolve,
  test: {
    name,
    root: `packages/${name}`,
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
  },
});

export default defineConfig({
  resolve,
  test: {
    projects: [
      unit('aggregation'),
      unit('producer'),
      unit('consumer'),
      unit('local'),
      unit('fake-kinesis'),
      unit('cli'),
      {
        resolve,
        test: {
          name: 'integration',
          root: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/reliability/**'],
          globalSetup: ['src/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
      {
        resolve,
        test: {
          name: 'reliability',
          root: 'integration',
          include: ['test/reliability/**/*.test.ts'],
          globalSetup: ['src/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
