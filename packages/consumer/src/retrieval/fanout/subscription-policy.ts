/**
 * Pure rules of enhanced fan-out subscriptions, kept apart from I/O so they are unit-tested:
 * where a subscription starts, how often a shard may be subscribed, and which failures are
 * retried.
 */
import type { StartingPosition } from '@aws-sdk/client-kinesis';
import { equalJitterDelay } from '@shardline/common';
import { isFatalReadError } from '../backoff';
import type { StartPosition } from '../types';

/** Kinesis allows one SubscribeToShard per second per shard per consumer. */
export const MIN_SUBSCRIBE_INTERVAL_MS = 1000;

/**
 * Failures that may be passing (a consumer still being re-registered, a KMS key being
 * re-enabled) but are fatal if they persist: retried this many times in a row, then surfaced.
 */
export const MAX_RESOURCE_ERROR_RETRIES = 5;

/** The SubscribeToShard starting position for a reader's start position. */
export function toStartingPosition(position: StartPosition): StartingPosition {
  switch (position.type) {
    case 'TRIM_HORIZON':
    case 'LATEST':
      return { Type: position.type };
    case 'AT_TIMESTAMP':
      return { Type: 'AT_TIMESTAMP', Timestamp: position.timestamp };
    case 'AT_SEQUENCE_NUMBER':
    case 'AFTER_SEQUENCE_NUMBER':
      return { Type: position.type, SequenceNumber: position.sequenceNumber };
  }
}

/** What to do after a subscription failed. */
export type FailureDecision = { action: 'retry'; delayMs: number } | { action: 'fail' };

/**
 * Decides about a failed subscription. `attempt` counts failures in a row (1 for the first).
 * ResourceInUse (a previous subscription is still closing) and transport failures (stream reset,
 * GOAWAY, timeouts, internal errors) are always retried; ResourceNotFound and KMS errors a few
 * times; access and argument errors never.
 */
export function decideOnFailure(
  code: string,
  attempt: number,
  random: () => number = Math.random,
): FailureDecision {
  const resourceError = code === 'ResourceNotFoundException' || code.startsWith('KMS');
  if (resourceError) {
    if (attempt > MAX_RESOURCE_ERROR_RETRIES) return { action: 'fail' };
  } else if (isFatalReadError(code)) {
    return { action: 'fail' };
  }
  // A previous owner's subscription closes within seconds: wait at least the subscribe interval.
  const base =
    code === 'ResourceInUseException' || code === 'LimitExceededException'
      ? MIN_SUBSCRIBE_INTERVAL_MS
      : 200;
  return {
    action: 'retry',
    delayMs: Math.max(base, equalJitterDelay(attempt, base, 5000, random)),
  };
}

/**
 * Spaces SubscribeToShard calls of one shard at least `intervalMs` apart, across every reader of
 * the shard in this consumer (a restarted reader must not subscribe sooner than its predecessor
 * allows).
 */
export class SubscribeRateLimiter {
  private readonly nextAllowed = new Map<string, number>();

  constructor(private readonly intervalMs: number = MIN_SUBSCRIBE_INTERVAL_MS) {}

  /** Reserves the next slot of `shardId`; returns how long to wait before subscribing. */
  reserve(shardId: string, now: number): number {
    const at = Math.max(now, this.nextAllowed.get(shardId) ?? 0);
    this.nextAllowed.set(shardId, at + this.intervalMs);
    return at - now;
  }
}
