import { DeleteTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DeleteStreamCommand, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { dynamoDBClientFor, kinesisClientFor } from './backend-clients';
import type { BackendInfo } from './backend-info';

/**
 * Every stream and table a test run creates carries the run's id in its name (see `uniqueName`),
 * so the run can remove what it made, and nothing else, when it ends: against real AWS a stream
 * left behind is billed by the shard-hour, and against a shared LocalStack it piles up.
 */

/** A fresh run id: lower-case letters and digits, valid inside stream, table and consumer names. */
export function newRunId(): string {
  return `run${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** True when `name` was made by `uniqueName` in the run `runId`. */
export function isRunResource(name: string, runId: string): boolean {
  return name.includes(`-${runId}-`);
}

/** What a clean-up removed. */
export interface RemovedResources {
  streams: string[];
  tables: string[];
}

/**
 * Deletes the run's streams (with their fan-out consumers) and tables. Something already gone
 * counts as removed; any other failure is collected and thrown at the end, naming what was left
 * behind, so a run never leaves resources silently.
 */
export async function removeRunResources(
  info: BackendInfo,
  runId: string = info.runId,
): Promise<RemovedResources> {
  const kinesis = kinesisClientFor(info);
  const dynamodb = dynamoDBClientFor(info, { maxAttempts: 8 });
  const removed: RemovedResources = { streams: [], tables: [] };
  const failures: string[] = [];
  try {
    for (const name of (await listStreamNames(info)).filter((n) => isRunResource(n, runId))) {
      try {
        await kinesis.send(
          new DeleteStreamCommand({ StreamName: name, EnforceConsumerDeletion: true }),
        );
        removed.streams.push(name);
      } catch (error) {
        if (isGone(error)) removed.streams.push(name);
        else failures.push(`stream ${name}: ${describe(error)}`);
      }
    }
    for (const name of (await listTableNames(info)).filter((n) => isRunResource(n, runId))) {
      try {
        await dynamodb.send(new DeleteTableCommand({ TableName: name }));
        removed.tables.push(name);
      } catch (error) {
        if (isGone(error)) removed.tables.push(name);
        else failures.push(`table ${name}: ${describe(error)}`);
      }
    }
  } finally {
    kinesis.destroy();
    dynamodb.destroy();
  }
  if (failures.length > 0) {
    throw new Error(
      `the test run left ${failures.length} resource(s) behind on the ${info.kind} backend:\n  ${failures.join('\n  ')}`,
    );
  }
  return removed;
}

/** Every stream name on the backend. */
export async function listStreamNames(info: BackendInfo): Promise<string[]> {
  const kinesis = kinesisClientFor(info);
  const names: string[] = [];
  try {
    let nextToken: string | undefined;
    for (;;) {
      const out = await kinesis.send(
        new ListStreamsCommand(
          nextToken
            ? { NextToken: nextToken }
            : names.length > 0
              ? { ExclusiveStartStreamName: names.at(-1)! }
              : {},
        ),
      );
      names.push(...(out.StreamNames ?? []));
      if (!out.HasMoreStreams || (out.StreamNames ?? []).length === 0) return names;
      nextToken = out.NextToken;
    }
  } finally {
    kinesis.destroy();
  }
}

/** Every table name on the backend. */
export async function listTableNames(info: BackendInfo): Promise<string[]> {
  const dynamodb = dynamoDBClientFor(info);
  const names: string[] = [];
  try {
    let start: string | undefined;
    do {
      const out = await dynamodb.send(
        new ListTablesCommand(start ? { ExclusiveStartTableName: start } : {}),
      );
      names.push(...(out.TableNames ?? []));
      start = out.LastEvaluatedTableName;
    } while (start);
    return names;
  } finally {
    dynamodb.destroy();
  }
}

function isGone(error: unknown): boolean {
  return (error as { name?: string }).name === 'ResourceNotFoundException';
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
