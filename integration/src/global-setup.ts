import type { TestProject } from 'vitest/node';
import './backend-info';
import { removeRunResources } from './run-resources';
import { startBackend } from './start-backend';

/**
 * One backend per test run, shared by every integration file (each test uses its own stream and
 * table names): one kinesis-local costs ~0.5 GB and a second to start, too much per file. At the
 * end the run deletes the streams and tables it created, on every backend alike, so the clean-up
 * that matters on real AWS is the one exercised here.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const backend = await startBackend();
  project.provide('shardlineBackend', backend.info);
  return async () => {
    try {
      const removed = await removeRunResources(backend.info);
      console.log(
        `${project.name}: removed the run's ${removed.streams.length} streams and ${removed.tables.length} tables from the ${backend.info.kind} backend`,
      );
    } finally {
      await backend.stop();
    }
  };
}
