import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// One runner for the whole workspace. Unit projects need no server; `integration` and
// `reliability` share one embedded backend per run (see integration/src/global-setup.ts).

// Workspace packages resolve to their TypeScript sources, in test files and in global setups
// alike, so a test never runs against a stale build.
const source = (name: string, entry = 'index') =>
  fileURLToPath(new URL(`./packages/${name}/src/${entry}.ts`, import.meta.url));
const resolve = {
  conditions: ['source'],
  alias: [
    { find: /^@shardline\/consumer\/lambda$/, replacement: source('consumer', 'lambda') },
    { find: /^@shardline\/aggregation\/schema$/, replacement: source('aggregation', 'schema') },
    { find: /^@shardline\/common\/list-shards$/, replacement: source('common', 'list-shards') },
    { find: /^@shardline\/common\/http-handlers$/, replacement: source('common', 'http-handlers') },
    ...[
      'common',
      'aggregation',
      'producer',
      'consumer',
      'local',
      'fake-kinesis',
      'cli',
      'telemetry',
    ].map((name) => ({
      find: new RegExp(`^@shardline/${name}$`),
      replacement: source(name),
    })),
  ],
};

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
    reporters: ['default', './scripts/summary-reporter.ts'],
    projects: [
      unit('common'),
      unit('aggregation'),
      unit('producer'),
      unit('consumer'),
      unit('local'),
      unit('fake-kinesis'),
      unit('cli'),
      unit('telemetry'),
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
          globalSetup: ['src/global-setup.ts', 'src/faults/report-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
