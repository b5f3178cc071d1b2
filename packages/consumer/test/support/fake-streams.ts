import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { FakeKinesis } from '@shardline/fake-kinesis';
import { afterEach, beforeEach } from 'vitest';

// A fresh fake Kinesis per test, so no test sees another's streams, injected faults or call counts.

/** The running fake of the current test, and a way to put records into one of its streams. */
export interface FakeStreams {
  /** The fake started for the current test (read it inside a test or hook, not at collection). */
  readonly fake: FakeKinesis;
  /** Puts records r0..r<n-1> (partition keys k0..k<n-1>) into `stream` in one PutRecords call. */
  fill(stream: string, n: number): Promise<void>;
}

/** Starts a fake Kinesis before each test of the calling file and closes it after. */
export function fakeKinesisPerTest(): FakeStreams {
  let current: FakeKinesis | undefined;
  beforeEach(async () => {
    current = await FakeKinesis.start();
  });
  afterEach(() => current?.close());
  const streams: FakeStreams = {
    get fake(): FakeKinesis {
      if (!current) throw new Error('the fake Kinesis runs only inside a test');
      return current;
    },
    async fill(stream, n) {
      const client = streams.fake.client();
      await client.send(
        new PutRecordsCommand({
          StreamName: stream,
          Records: Array.from({ length: n }, (_, i) => ({
            PartitionKey: `k${i}`,
            Data: Buffer.from(`r${i}`),
          })),
        }),
      );
      client.destroy();
    },
  };
  return streams;
}
