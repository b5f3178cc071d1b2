import { deaggregate, decompress, hashKeyOf } from '@shardline/aggregation';
import { FakeKinesis } from '@shardline/fake-kinesis';
import { afterEach, beforeEach } from 'vitest';
import { Producer, type ProducerOptions } from '../src/index';

/** A user record as the fake stored it. */
export interface StoredRecord {
  shardId: string;
  partitionKey: string;
  data: string;
}

/**
 * The producer tests' fixture: a fresh fake Kinesis per test (`ctx.fake`, replaceable by a test
 * that needs other limits), producers on it closed after each test, and what the fake stored.
 */
export function useFakeStream(prefix: string) {
  const producers: Producer[] = [];
  let streamCount = 0;
  const ctx = {
    fake: undefined as unknown as FakeKinesis,

    /** A stream of `shards` shards and a producer on it with quick test timings. */
    setup(shards: number, options: Partial<ProducerOptions> = {}) {
      const streamName = `${prefix}${++streamCount}`;
      ctx.fake.createStream(streamName, shards);
      const producer = new Producer({
        streamName,
        kinesisClient: ctx.fake.client(),
        recordMaxBufferedTime: 10,
        retry: { minTimeout: 1, maxTimeout: 20 },
        ...options,
      });
      ctx.closeAfterTest(producer);
      return { streamName, producer };
    },

    /** Closes `producer` after the test, as `setup`'s own are. */
    closeAfterTest(producer: Producer) {
      producers.push(producer);
    },

    /** Every user record the fake stored, de-aggregated and decompressed, by "sequence/subsequence". */
    stored(streamName: string): Map<string, StoredRecord> {
      const out = new Map<string, StoredRecord>();
      for (const { shard, users } of kinesisRecords(streamName))
        for (const u of users)
          out.set(`${u.sequenceNumber}/${u.subSequenceNumber}`, stored(shard, u));
      return out;
    },

    /**
     * The user records a KCL would deliver, in write order (the fake numbers records stream-wide,
     * so a parent's records sort before its children's): an aggregate holding a record that
     * hashes outside its shard is dropped whole, as the KCL drops it.
     */
    kclView(streamName: string): (StoredRecord & { sequenceNumber: bigint; sub: number })[] {
      const out: (StoredRecord & { sequenceNumber: bigint; sub: number })[] = [];
      for (const { shard, users } of kinesisRecords(streamName)) {
        const outside = users.some((u) => {
          const h = hashKeyOf(u);
          return h < shard.start || h > shard.end;
        });
        if (users.length > 1 && outside) continue;
        for (const u of users)
          out.push({
            ...stored(shard, u),
            sequenceNumber: BigInt(u.sequenceNumber),
            sub: u.subSequenceNumber ?? 0,
          });
      }
      return out.sort((a, b) =>
        a.sequenceNumber === b.sequenceNumber
          ? a.sub - b.sub
          : a.sequenceNumber < b.sequenceNumber
            ? -1
            : 1,
      );
    },
  };

  /** Each Kinesis record the fake stored, with its user records (de-aggregated, decompressed). */
  function* kinesisRecords(streamName: string) {
    for (const shard of ctx.fake.shards(streamName))
      for (const r of shard.records) {
        const users = deaggregate(
          {
            data: decompress(r.data),
            partitionKey: r.partitionKey,
            sequenceNumber: r.sequenceNumber,
          },
          { strict: true },
        );
        yield { shard, users };
      }
  }

  function stored(
    shard: { shardId: string },
    u: { partitionKey: string; data: Uint8Array },
  ): StoredRecord {
    return {
      shardId: shard.shardId,
      partitionKey: u.partitionKey,
      data: Buffer.from(decompress(u.data)).toString(),
    };
  }

  beforeEach(async () => {
    ctx.fake = await FakeKinesis.start();
  });
  afterEach(async () => {
    await Promise.all(producers.splice(0).map((p) => p.close({ timeoutMs: 1000 })));
    await ctx.fake.close();
  });
  return ctx;
}
