import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { describeTarget, type AwsConfig } from './aws-config';
import { BackendError } from './errors';

/**
 * One DescribeStreamSummary with a deadline before any work, so a wrong endpoint or stream name
 * is one clear line at once instead of records expiring half a minute later.
 */
export async function checkStream(
  kinesis: KinesisClient,
  streamName: string,
  config: AwsConfig,
  timeoutMs = 10_000,
): Promise<{ shards: number; status: string }> {
  try {
    const out = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }), {
      abortSignal: AbortSignal.timeout(timeoutMs),
    });
    const summary = out.StreamDescriptionSummary;
    return { shards: summary?.OpenShardCount ?? 0, status: summary?.StreamStatus ?? 'UNKNOWN' };
  } catch (error) {
    throw backendError(error, `stream ${streamName}`, config);
  }
}

/** Turns an SDK or network error into a one-line `BackendError` naming the target. */
export function backendError(error: unknown, what: string, config: AwsConfig): BackendError {
  const e = error as { name?: string; code?: string; message?: string };
  const name = e.name ?? 'Error';
  if (name === 'ResourceNotFoundException') {
    return new BackendError('STREAM_NOT_FOUND', `${what} not found (${describeTarget(config)})`, {
      cause: error,
    });
  }
  const code = e.code ?? (name === 'TimeoutError' || name === 'AbortError' ? 'timed out' : name);
  const detail = (e.message ?? '').split('\n')[0] || code;
  return new BackendError(
    'BACKEND_UNREACHABLE',
    `cannot reach ${what}: ${detail === code ? code : `${code}: ${detail}`} (${describeTarget(config)})`,
    { cause: error },
  );
}
