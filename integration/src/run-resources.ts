import {
  DeleteTableCommand,
  type DynamoDBClient,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteStreamCommand,
  type KinesisClient,
  ListStreamsCommand,
} from '@aws-sdk/client-kinesis';
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
  const failures: string[] = [];
  /** Deletes each named resource of this run; returns those now gone, collects the failures. */
  const removeEach = async (
    kind: string,
    names: string[],
    remove: (name: string) => Promise<unknown>,
  ): Promise<string[]> => {
    const gone: string[] = [];
    for (const name of names.filter((n) => isRunResource(n, runId))) {
      try {
        await remove(name);
        gone.push(name);
      } catch (error) {
        if (isGone(error)) gone.push(name);
        else failures.push(`${kind} ${name}: ${describe(error)}`);
      }
    }
    return gone;
  };
  let removed: RemovedResources;
  try {
    removed = {
      streams: await removeEach('stream', await listStreamNames(kinesis), (name) =>
        kinesis.send(new DeleteStreamCommand({ StreamName: name, EnforceConsumerDeletion: true })),
      ),
      tables: await removeEach('table', await listTableNames(dynamodb), (name) =>
        dynamodb.send(new DeleteTableCommand({ TableName: name })),
      ),
    };
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

/** Every stream name on the backend `kinesis` talks to. */
export async function listStreamNames(kinesis: KinesisClient): Promise<string[]> {
  const names: string[] = [];
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
}

/** Every table name on the backend `dynamodb` talks to. */
export async function listTableNames(dynamodb: DynamoDBClient): Promise<string[]> {
  const names: string[] = [];
  let start: string | undefined;
  do {
    const out = await dynamodb.send(
      new ListTablesCommand(start ? { ExclusiveStartTableName: start } : {}),
    );
    names.push(...(out.TableNames ?? []));
    start = out.LastEvaluatedTableName;
  } while (start);
  return names;
}

function isGone(error: unknown): boolean {
  return (error as { name?: string }).name === 'ResourceNotFoundException';
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
