import { ConfigError } from './errors';

/**
 * Option checks the producer and the consumer share, so both refuse a bad value with the same
 * `ConfigError` text.
 */

const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;

/**
 * Checks that `options` names a stream: a valid `streamName` (1–128 of `[a-zA-Z0-9_.-]`), a
 * `streamArn`, or both. `component` ("Producer", "Consumer") opens the message.
 */
export function checkStreamTarget(
  options: { streamName?: unknown; streamArn?: unknown },
  component: string,
): void {
  const { streamName, streamArn } = options;
  if (streamName === undefined && streamArn === undefined)
    throw new ConfigError(`${component} needs streamName or streamArn`, 'STREAM_REQUIRED');
  if (
    streamName !== undefined &&
    (typeof streamName !== 'string' || !STREAM_NAME.test(streamName))
  ) {
    throw new ConfigError(
      `streamName ${JSON.stringify(streamName)} is not a valid Kinesis stream name`,
    );
  }
  if (streamArn !== undefined && (typeof streamArn !== 'string' || !streamArn.startsWith('arn:'))) {
    throw new ConfigError(`streamArn ${JSON.stringify(streamArn)} is not an ARN`);
  }
}

/** `value` if it is an integer in [min, max], `fallback` if it is undefined; else a `ConfigError` naming `name`. */
export function configInteger(
  value: unknown,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(
      `${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
