import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Producer, ProducerOptions } from '@shardline/producer';
import type { DeadLetterDestination } from './destination';
import { encodeDeadLetterRecord } from './format';

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
export function kinesisDestination(
  options: KinesisDeadLetterOptions,
  defaultClient: KinesisClient,
): DeadLetterDestination {
  let producer: Promise<Producer> | undefined;
  const open = (): Promise<Producer> =>
    (producer ??= import('@shardline/producer').then(
      ({ Producer: P }) =>
        new P({
          aggregation: false,
          recordMaxBufferedTime: 10,
          ...options.producer,
          ...(options.streamName ? { streamName: options.streamName } : {}),
          ...(options.streamArn ? { streamArn: options.streamArn } : {}),
          kinesisClient: options.kinesisClient ?? defaultClient,
        }),
    ));
  return {
    kind: 'kinesis',
    async send(records) {
      const p = await open();
      // Every put must be acknowledged; the first refusal fails the whole send (the shard then
      // retries it all: a record landing twice in the dead-letter stream beats one lost).
      await Promise.all(
        records.map((r) =>
          p.put({ partitionKey: r.partitionKey, data: encodeDeadLetterRecord(r) }),
        ),
      );
    },
    async close() {
      if (!producer) return;
      const p = await producer.catch(() => undefined);
      await p?.close().catch(() => {});
    },
  };
}
