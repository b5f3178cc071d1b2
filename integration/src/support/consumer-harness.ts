import { Consumer, type ConsumerOptions, type RecordBatch } from '@shardline/consumer';
import { Producer } from '@shardline/producer';
import pino from 'pino';
import { dynamoDBClient, kinesisClient } from '../backend';

/** Puts `count` records `key-i:seq` with ids; returns them by key in put order. */
export async function produce(
  streamName: string,
  count: number,
  options: { keys?: number; prefix?: string } = {},
): Promise<Map<string, string[]>> {
  const producer = new Producer({
    streamName,
    kinesisClient: kinesisClient(),
    recordMaxBufferedTime: 20,
  });
  const byKey = new Map<string, string[]>();
  const puts: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const key = `key-${i % (options.keys ?? 40)}`;
    const id = `${options.prefix ?? 'r'}-${i}`;
    byKey.set(key, [...(byKey.get(key) ?? []), id]);
    puts.push(producer.put({ partitionKey: key, data: id }));
  }
  await Promise.all(puts);
  await producer.close();
  return byKey;
}

/** What a test worker saw. */
export interface Seen {
  /** Every record delivered, in delivery order: key, id, shard, worker. */
  records: {
    key: string;
    id: string;
    shardId: string;
    worker: string;
    sequenceNumber: string;
    subSequenceNumber: number;
  }[];
}

/** A consumer whose processor records everything it is given. */
export function recordingConsumer(
  seen: Seen,
  worker: string,
  options: Partial<ConsumerOptions> & { streamName: string; applicationName: string },
  onBatch?: (batch: RecordBatch) => Promise<void> | void,
): Consumer {
  return new Consumer({
    kinesisClient: kinesisClient(),
    dynamoDBClient: dynamoDBClient(),
    initialPosition: 'TRIM_HORIZON',
    failoverTimeMillis: 1500,
    idleTimeBetweenReadsMillis: 200,
    shardSyncIntervalMillis: 1000,
    workerId: worker,
    // SHARDLINE_TEST_LOG=debug shows what the workers do, on stderr.
    ...(process.env.SHARDLINE_TEST_LOG
      ? { logger: pino({ level: process.env.SHARDLINE_TEST_LOG }, pino.destination(2)) }
      : {}),
    processor: {
      async processRecords(batch) {
        for (const r of batch.records) {
          seen.records.push({
            key: r.partitionKey,
            id: Buffer.from(r.data).toString(),
            shardId: batch.shardId,
            worker,
            sequenceNumber: r.sequenceNumber,
            subSequenceNumber: r.subSequenceNumber,
          });
        }
        await onBatch?.(batch);
      },
    },
    ...options,
  });
}

/** Per key, the ids in delivery order (first delivery of each id). */
export function orderByKey(seen: Seen): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const first = new Set<string>();
  for (const r of seen.records) {
    if (first.has(r.id)) continue;
    first.add(r.id);
    out.set(r.key, [...(out.get(r.key) ?? []), r.id]);
  }
  return out;
}

export function duplicates(seen: Seen): string[] {
  const count = new Map<string, number>();
  for (const r of seen.records) count.set(r.id, (count.get(r.id) ?? 0) + 1);
  return [...count].filter(([, n]) => n > 1).map(([id]) => id);
}
