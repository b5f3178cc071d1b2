import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Producer, ProducerOptions } from '@shardline/producer';
import type { DeadLetterDestination } from './destination';
import { encodeDeadLetterRecord, type DeadLetterRecord } from './format';

/** A Kinesis stream as the dead-letter destination, written through Shardline's producer. */
export interface KinesisDeadLetterOptions {
  /** The dead-letter stream. One of `streamName` or `streamArn` is required. */
  streamName?: string;
  streamArn?: string;
  /** Client for the dead-letter stream. Default: the consumer's `kinesisClient`. */
  kinesisClient?: KinesisClient;
  /**
   * More producer options (retries, `recordTtl`, rate limit, logger). Aggregation is off unless
   * set here, so each dead-letter record is a plain Kinesis record any reader can decode.
   */
  producer?: Omit<ProducerOptions, 'streamName' | 'streamArn' | 'kinesisClient'>;
}

/**
 * Writes each dead-letter record (format of `dead-letter/format.ts`) with the original partition
 * key, so one key's dead letters stay in order on one shard. The producer is loaded on the first
 * send only: a consumer without a Kinesis dead-letter stream never loads it.
 */
/** The part of the producer the destination uses. */
export type DeadLetterProducer = Pick<Producer, 'put' | 'close'>;

/** Loads `@shardline/producer` (on first use only) and opens a producer for the stream. */
function openProducer(
  options: KinesisDeadLetterOptions,
  defaultClient: KinesisClient,
): Promise<DeadLetterProducer> {
  return import('@shardline/producer').then(
    ({ Producer: P }) =>
      new P({
        aggregation: false,
        recordMaxBufferedTime: 10,
        ...options.producer,
        ...(options.streamName ? { streamName: options.streamName } : {}),
        ...(options.streamArn ? { streamArn: options.streamArn } : {}),
        kinesisClient: options.kinesisClient ?? defaultClient,
      }),
  );
}

export function kinesisDestination(
  options: KinesisDeadLetterOptions,
  defaultClient: KinesisClient,
  open: () => Promise<DeadLetterProducer> = () => openProducer(options, defaultClient),
): DeadLetterDestination {
  let producer: Promise<DeadLetterProducer> | undefined;
  // The process task sends the same record objects again after a failed send: those the stream
  // already took are not put twice, so each lands once even when a send half failed.
  const acknowledged = new WeakSet<DeadLetterRecord>();
  return {
    kind: 'kinesis',
    async send(records) {
      const p = await (producer ??= open());
      const outcomes = await Promise.allSettled(
        records
          .filter((r) => !acknowledged.has(r))
          .map(async (r) => {
            await p.put({ partitionKey: r.partitionKey, data: encodeDeadLetterRecord(r) });
            acknowledged.add(r);
          }),
      );
      const failed = outcomes.find((o) => o.status === 'rejected');
      if (failed) throw failed.reason;
    },
    async close() {
      if (!producer) return;
      const p = await producer.catch(() => undefined);
      await p?.close().catch(() => {});
    },
  };
}
