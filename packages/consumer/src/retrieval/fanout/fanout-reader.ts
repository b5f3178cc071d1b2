/**
 * Reads one shard through SubscribeToShard. Pull-based: one event is taken from the HTTP/2
 * stream per `next()` call, so while the processor works nothing is read and HTTP/2 flow control
 * holds the service back (the only buffer is the stream's own, bounded by its high-water mark
 * and the HTTP/2 window).
 *
 * The resume point is the ContinuationSequenceNumber of the last event `next()` returned, never
 * of an event only read: renewals and failures resubscribe AFTER_SEQUENCE_NUMBER from it, so no
 * record is skipped and none handed twice.
 */
import {
  type KinesisClient,
  SubscribeToShardCommand,
  type SubscribeToShardEvent,
  type SubscribeToShardEventStream,
} from '@aws-sdk/client-kinesis';
import type { Logger } from 'pino';
import { RetrievalError } from '../../errors';
import { toChildShard, toRawRecord } from '../from-sdk';
import { abortableSleep, errorName } from '../backoff';
import type {
  ChildShardInfo,
  RawKinesisRecord,
  RetrievedBatch,
  ShardReader,
  StartPosition,
} from '../types';
import {
  decideOnFailure,
  type SubscribeRateLimiter,
  toStartingPosition,
} from './subscription-policy';

export interface FanoutReaderOptions {
  /** The client SubscribeToShard is sent with (HTTP/2). */
  client: KinesisClient;
  consumerArn: string;
  shardId: string;
  position: StartPosition;
  limiter: SubscribeRateLimiter;
  /** End and renew a subscription after this long (the service ends it after 5 minutes anyway). 0: never. */
  subscriptionRenewalMs: number;
  logger: Logger;
  onReadError?: (code: string) => void;
  /**
   * Whether the shard is closed, and its children. Used when a subscription keeps delivering
   * empty events without ever sending ChildShards (kinesis-mock, LocalStack); at most once per
   * `shardEndCheckIntervalMs`. Absent or interval 0: only ChildShards ends a shard.
   */
  checkShardClosed?: (shardId: string) => Promise<ChildShardInfo[] | undefined>;
  shardEndCheckIntervalMs?: number;
  /** Called when the reader closes, so the retrieval forgets it. */
  onClose?: () => void;
}

interface Subscription {
  controller: AbortController;
  events: AsyncIterator<SubscribeToShardEventStream>;
  startedAt: number;
}

/** An event-stream member that is not a SubscribeToShardEvent: a modeled service error. */
class StreamEventError extends Error {}

export class FanoutReader implements ShardReader {
  readonly shardId: string;
  /** Where the next subscription starts: the start position, then after the last handed event. */
  private resumeFrom: StartPosition;
  private subscription: Subscription | undefined;
  private ended = false;
  private closed = false;
  /** When the shard was seen closed (by listing), and its children. */
  private closedSeen: { at: number; children: ChildShardInfo[] } | undefined;
  private lastClosedCheckAt = 0;
  /** Subscriptions opened by this reader (diagnostics, tests). */
  subscriptions = 0;

  constructor(private readonly o: FanoutReaderOptions) {
    this.shardId = o.shardId;
    this.resumeFrom = o.position;
  }

  async next(signal: AbortSignal): Promise<RetrievedBatch> {
    if (this.ended) return { records: [], shardEnded: true };
    let failures = 0;
    for (;;) {
      if (this.closed)
        throw new RetrievalError(this.shardId, 'ReaderClosed', 'the reader was closed');
      try {
        if (this.subscription && this.renewalDue(this.subscription)) {
          this.o.logger.debug({ shardId: this.shardId }, 'renewing the subscription');
          this.endSubscription();
        }
        this.subscription ??= await this.subscribe(signal);
        const result = await nextOrAbort(this.subscription, signal);
        if (result.done) {
          // The service ends every subscription after 5 minutes: resubscribe from what was handed.
          this.endSubscription();
          continue;
        }
        const event = result.value.SubscribeToShardEvent;
        if (!event) throw streamEventError(result.value);
        if ((event.Records?.length ?? 0) === 0 && (event.ChildShards?.length ?? 0) === 0) {
          const ended = await this.endedByListing(this.subscription);
          if (ended) return ended;
        }
        return this.handOver(event);
      } catch (error) {
        this.endSubscription();
        if (signal.aborted) throw signal.reason;
        if (this.closed) continue;
        const code = errorName(error);
        this.o.onReadError?.(code);
        failures++;
        const decision = decideOnFailure(code, failures);
        if (decision.action === 'fail')
          throw new RetrievalError(this.shardId, code, (error as Error).message, { cause: error });
        this.o.logger.debug(
          { shardId: this.shardId, code, attempt: failures },
          'subscription failed; resubscribing after backoff',
        );
        await abortableSleep(decision.delayMs, signal);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.endSubscription();
    this.o.onClose?.();
  }

  /**
   * Shard end for backends that never send ChildShards. An empty event proves the shard drained
   * only if its subscription began after the shard was seen closed (an earlier one may have been
   * generated before the last records arrived), so seeing it closed ends the subscription and the
   * first empty event of the next one ends the shard.
   */
  private async endedByListing(subscription: Subscription): Promise<RetrievedBatch | undefined> {
    if (this.closedSeen) {
      if (subscription.startedAt < this.closedSeen.at) return undefined;
      this.ended = true;
      this.endSubscription();
      return { records: [], shardEnded: true, childShards: this.closedSeen.children };
    }
    const interval = this.o.shardEndCheckIntervalMs ?? 0;
    if (!this.o.checkShardClosed || interval <= 0 || Date.now() - this.lastClosedCheckAt < interval)
      return undefined;
    this.lastClosedCheckAt = Date.now();
    try {
      const children = await this.o.checkShardClosed(this.shardId);
      if (children) {
        // After the answer, so only a subscription requested after the shard closed qualifies.
        this.closedSeen = { at: Date.now(), children };
        this.o.logger.debug(
          { shardId: this.shardId },
          'shard closed without a ChildShards event; resubscribing to drain it',
        );
        this.endSubscription();
      }
    } catch (error) {
      this.o.logger.debug(
        { shardId: this.shardId, code: errorName(error) },
        'checking whether the shard closed failed',
      );
    }
    return undefined;
  }

  private handOver(event: SubscribeToShardEvent): RetrievedBatch {
    const records: RawKinesisRecord[] = (event.Records ?? []).map(toRawRecord);
    const batch: RetrievedBatch = { records, shardEnded: false };
    if (event.MillisBehindLatest !== undefined) batch.millisBehindLatest = event.MillisBehindLatest;
    const continuation = event.ContinuationSequenceNumber ?? undefined;
    const lastRecord = records[records.length - 1]?.sequenceNumber;
    if (continuation) {
      this.resumeFrom = { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: continuation };
      batch.continuationSequenceNumber = lastRecord ?? continuation;
    } else if (lastRecord) {
      batch.continuationSequenceNumber = lastRecord;
    }
    // A closed shard's last event carries its children and no continuation.
    if (!continuation || (event.ChildShards?.length ?? 0) > 0) {
      this.ended = true;
      batch.shardEnded = true;
      batch.childShards = (event.ChildShards ?? []).map(toChildShard);
      this.endSubscription();
    }
    return batch;
  }

  private async subscribe(signal: AbortSignal): Promise<Subscription> {
    const wait = this.o.limiter.reserve(this.shardId, Date.now());
    if (wait > 0) await abortableSleep(wait, signal);
    const controller = new AbortController();
    const requestedAt = Date.now();
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const out = await this.o.client.send(
        new SubscribeToShardCommand({
          ConsumerARN: this.o.consumerArn,
          ShardId: this.shardId,
          StartingPosition: toStartingPosition(this.resumeFrom),
        }),
        { abortSignal: controller.signal },
      );
      if (!out.EventStream)
        throw new RetrievalError(
          this.shardId,
          'NoEventStream',
          'SubscribeToShard returned no event stream',
        );
      this.subscriptions++;
      return {
        controller,
        events: out.EventStream[Symbol.asyncIterator](),
        startedAt: requestedAt,
      };
    } catch (error) {
      controller.abort();
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private renewalDue(subscription: Subscription): boolean {
    return (
      this.o.subscriptionRenewalMs > 0 &&
      Date.now() - subscription.startedAt >= this.o.subscriptionRenewalMs
    );
  }

  private endSubscription(): void {
    const subscription = this.subscription;
    this.subscription = undefined;
    if (!subscription) return;
    // Aborting resets the HTTP/2 stream; events read but not handed over are dropped with it
    // and are read again by the next subscription, which starts after the last handed event.
    subscription.controller.abort();
  }
}

/** The next event, or the abort reason as soon as `signal` aborts (the subscription is then ended by the caller). */
function nextOrAbort(
  subscription: Subscription,
  signal: AbortSignal,
): Promise<IteratorResult<SubscribeToShardEventStream>> {
  if (signal.aborted) return Promise.reject(signal.reason);
  const pending = subscription.events.next();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      // The pending read rejects once the stream is reset; nobody waits for it any more.
      pending.catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function streamEventError(event: SubscribeToShardEventStream): Error {
  const entry = Object.entries(event).find(
    ([key, value]) => key !== '$unknown' && value !== undefined,
  );
  const [name, value] = entry ?? [
    'UnknownEventException',
    { message: 'an event the client does not know' },
  ];
  const error = new StreamEventError((value as { message?: string })?.message ?? name);
  error.name = name;
  return error;
}
