import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { DeadLetterOptions } from '../options';
import type { DeadLetterRecord } from './format';
import { functionDestination } from './function-destination';
import { kinesisDestination } from './kinesis-destination';

/** A dead-letter destination as the process task uses it. */
export interface DeadLetterDestination {
  /** For metrics and logs. */
  readonly kind: 'kinesis' | 'function';
  /** Resolves once every record is acknowledged; rejects if any is not. */
  send(records: readonly DeadLetterRecord[]): Promise<void>;
  /** Flushes and releases what the destination holds (the producer of a Kinesis one). */
  close(): Promise<void>;
}

/** The destination `deadLetter` configures (the consumer's client for a Kinesis one by default). */
export function createDestination(
  options: DeadLetterOptions,
  kinesisClient: KinesisClient,
): DeadLetterDestination {
  return 'send' in options
    ? functionDestination(options.send)
    : kinesisDestination(options.kinesis, kinesisClient);
}
