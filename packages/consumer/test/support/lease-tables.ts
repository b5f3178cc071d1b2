import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startLocalBackend, type LocalBackend } from '@shardline/local';
import { afterAll, beforeAll } from 'vitest';
import type { Lease } from '../../src/leases/lease';
import { LeaseTable } from '../../src/leases/lease-table';

/**
 * A dynalite for the calling test file (started before its tests, stopped after) and fresh,
 * uniquely named lease tables on it.
 */
export function useLeaseTables(): {
  client: () => DynamoDBClient;
  /** A client of its own on the same dynalite (to add middleware to; destroy it after). */
  newClient: () => DynamoDBClient;
  table: () => Promise<LeaseTable>;
} {
  let backend: LocalBackend | undefined;
  let client: DynamoDBClient | undefined;
  let n = 0;
  beforeAll(async () => {
    backend = await startLocalBackend({ kinesis: false });
    client = new DynamoDBClient({
      endpoint: backend.dynamodbEndpoint,
      region: backend.region,
      credentials: { ...backend.credentials },
    });
  });
  afterAll(async () => {
    client?.destroy();
    await backend?.stop();
  });
  const started = (): DynamoDBClient => {
    if (!client)
      throw new Error(
        'the dynalite backend is not started: call useLeaseTables() at the top of the test file',
      );
    return client;
  };
  return {
    client: started,
    newClient() {
      started();
      return new DynamoDBClient({
        endpoint: backend!.dynamodbEndpoint,
        region: backend!.region,
        credentials: { ...backend!.credentials },
      });
    },
    async table() {
      const table = new LeaseTable(started(), `leases-${++n}`);
      await table.ensure();
      return table;
    },
  };
}

/** A lease as shard sync creates it: free, at TRIM_HORIZON. */
export function newLease(key: string, fields: Partial<Lease> = {}): Lease {
  return {
    leaseKey: key,
    leaseOwner: undefined,
    leaseCounter: 0,
    checkpoint: 'TRIM_HORIZON',
    checkpointSubSequenceNumber: 0,
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: [],
    childShardIds: [],
    startingHashKey: '0',
    endingHashKey: '99',
    checkpointOwner: undefined,
    ...fields,
  };
}
