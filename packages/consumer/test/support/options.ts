import type { ConsumerOptions } from '../../src/options';

// Option tests check what resolveConsumerOptions makes of one field; the rest must just be valid.

/** The least a consumer needs: names and do-nothing clients and processor (never called). */
export const MINIMAL_OPTIONS = {
  streamName: 's',
  applicationName: 'app',
  kinesisClient: { send() {} },
  dynamoDBClient: { send() {} },
  processor: { processRecords() {} },
} as unknown as ConsumerOptions;

/** MINIMAL_OPTIONS with `patch` laid over it, unchecked, so tests can pass values of any type. */
export const optionsWith = (patch: Record<string, unknown>): ConsumerOptions =>
  ({ ...MINIMAL_OPTIONS, ...patch }) as unknown as ConsumerOptions;
