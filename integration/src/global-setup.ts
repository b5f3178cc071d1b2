import type { TestProject } from 'vitest/node';
import './backend-info';
import { startBackend } from './start-backend';

/**
 * One backend per test run, shared by every integration file (each test uses its own stream and
 * table names): one kinesis-local costs ~0.5 GB and a second to start, too much per file.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const backend = await startBackend();
  project.provide('shardlineBackend', backend.info);
  return () => backend.stop();
}
