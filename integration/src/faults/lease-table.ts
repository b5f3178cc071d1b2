import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';

/** A lease as a test reads it straight from the table, to judge checkpoints and owners from outside the workers. */
export interface LeaseRow {
  leaseKey: string;
  leaseOwner?: string;
  /** Set while a graceful hand-off is pending: the previous owner, still finishing its batch. */
  checkpointOwner?: string;
  leaseCounter: number;
  checkpoint?: string;
  checkpointSubSequenceNumber: number;
}

/** Every lease of an application's table (the table is named after the application unless set otherwise). */
export async function scanLeases(client: DynamoDBClient, tableName: string): Promise<LeaseRow[]> {
  const rows: LeaseRow[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await client.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start as never } : {}),
      }),
    );
    for (const item of out.Items ?? []) {
      rows.push({
        leaseKey: item.leaseKey?.S ?? '',
        ...(item.leaseOwner?.S ? { leaseOwner: item.leaseOwner.S } : {}),
        ...(item.checkpointOwner?.S ? { checkpointOwner: item.checkpointOwner.S } : {}),
        leaseCounter: Number(item.leaseCounter?.N ?? 0),
        ...(item.checkpoint?.S ? { checkpoint: item.checkpoint.S } : {}),
        checkpointSubSequenceNumber: Number(item.checkpointSubSequenceNumber?.N ?? 0),
      });
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return rows;
}

/**
 * True when the user record at (sequenceNumber, sub) comes after `checkpoint`: a sentinel such
 * as TRIM_HORIZON puts everything after it.
 */
export function isAfterCheckpoint(
  sequenceNumber: string,
  sub: number,
  checkpoint: string | undefined,
  checkpointSub: number,
): boolean {
  if (checkpoint === undefined || !/^\d+$/.test(checkpoint)) return true;
  const seq = BigInt(sequenceNumber);
  const cp = BigInt(checkpoint);
  return seq > cp || (seq === cp && sub > checkpointSub);
}
