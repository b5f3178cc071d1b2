/**
 * Registers the application's stream consumer, idempotently: several workers start at once and
 * must all end up using the one consumer, so "already exists" is success and every worker waits
 * until the consumer is ACTIVE.
 */
import {
  DeregisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  type KinesisClient,
  RegisterStreamConsumerCommand,
} from '@aws-sdk/client-kinesis';
import type { Logger } from 'pino';
import { abortableSleep, errorName } from '../backoff';
import { FanoutRegistrationError } from './errors';

export interface RegisterConsumerInput {
  client: KinesisClient;
  streamArn: string;
  consumerName: string;
  timeoutMs: number;
  signal: AbortSignal;
  logger: Logger;
}

/** Ensures the consumer exists and is ACTIVE; resolves with its ARN. */
export async function ensureStreamConsumer(input: RegisterConsumerInput): Promise<string> {
  const { client, streamArn, consumerName, signal, logger } = input;
  const deadline = Date.now() + input.timeoutMs;
  let lastStatus = 'absent';
  let attempt = 0;
  while (Date.now() <= deadline) {
    try {
      const out = await client.send(
        new DescribeStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName }),
        { abortSignal: signal },
      );
      const description = out.ConsumerDescription;
      lastStatus = description?.ConsumerStatus ?? 'unknown';
      if (lastStatus === 'ACTIVE' && description?.ConsumerARN) return description.ConsumerARN;
      // CREATING: wait. DELETING (a previous deregistration): wait until it is gone, then register.
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const code = errorName(error);
      if (code === 'ResourceNotFoundException') {
        lastStatus = 'absent';
        await register(input);
      } else if (code !== 'LimitExceededException') {
        throw new FanoutRegistrationError(
          'FANOUT_REGISTRATION_FAILED',
          consumerName,
          code,
          (error as Error).message,
          { cause: error },
        );
      }
    }
    attempt++;
    // DescribeStreamConsumer allows 20 calls a second per stream, shared by every worker.
    await abortableSleep(Math.min(1000, 50 * 2 ** Math.min(attempt, 5)), signal);
  }
  logger.warn(
    { consumerName, status: lastStatus },
    'stream consumer did not become ACTIVE in time',
  );
  throw new FanoutRegistrationError(
    'FANOUT_CONSUMER_NOT_ACTIVE',
    consumerName,
    undefined,
    `not ACTIVE after ${input.timeoutMs} ms (last status: ${lastStatus})`,
  );
}

async function register(input: RegisterConsumerInput): Promise<void> {
  try {
    await input.client.send(
      new RegisterStreamConsumerCommand({
        StreamARN: input.streamArn,
        ConsumerName: input.consumerName,
      }),
      { abortSignal: input.signal },
    );
    input.logger.info({ consumerName: input.consumerName }, 'registered stream consumer');
  } catch (error) {
    if (input.signal.aborted) throw input.signal.reason;
    const code = errorName(error);
    // Another worker registered it first (ResourceInUse), or the previous one is still being
    // deleted, or registrations are throttled: all resolve by describing again.
    if (code === 'ResourceInUseException' || code === 'LimitExceededException') return;
    throw new FanoutRegistrationError(
      'FANOUT_REGISTRATION_FAILED',
      input.consumerName,
      code,
      (error as Error).message,
      { cause: error },
    );
  }
}

/** Deregisters the consumer; an absent consumer is not an error. */
export async function deregisterStreamConsumer(
  client: KinesisClient,
  streamArn: string,
  consumerName: string,
): Promise<void> {
  try {
    await client.send(
      new DeregisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName }),
    );
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return;
    throw error;
  }
}
