import type { ServerResponse } from 'node:http';
import type { Backend } from './backend';
import { EVENT_STREAM_CONTENT_TYPE, encodeEvent } from './event-stream';
import { childShardsJson, millisBehindLatest, recordJson, startIndex } from './read';
import { ServiceError } from './service-error';
import { consumerByArn } from './stream-consumers';

/** How subscriptions pace their events. */
export interface SubscriptionTiming {
  /** How often a subscription looks for new records to push. */
  pollMillis: number;
  /** An empty event after this long without one (the service sends one about every 5 s). */
  heartbeatMillis: number;
  /** The subscription ends after this long (the service: 5 minutes). */
  lifetimeMillis: number;
}

export const DEFAULT_SUBSCRIPTION_TIMING: SubscriptionTiming = {
  pollMillis: 200,
  heartbeatMillis: 5000,
  lifetimeMillis: 300_000,
};

/** Records per event; the service sends what arrived, up to its 2 MiB/s share. */
const MAX_RECORDS_PER_EVENT = 1000;

/**
 * SubscribeToShard as an HTTP/1.1 streaming response in the event-stream framing (the SDK's
 * event-stream decoder reads it over any handler): an `initial-response`, then a
 * `SubscribeToShardEvent` whenever records arrived (polled every `pollMillis`) or `heartbeatMillis`
 * passed, each with `ContinuationSequenceNumber` and `MillisBehindLatest`; at the end of a closed
 * shard one event with `ChildShards` and no continuation, then the end of the stream; otherwise
 * the end after `lifetimeMillis`. Not modelled: ResourceInUseException for a second subscription
 * to the same shard, the 2 MiB/s read limit. Errors before the stream starts are thrown.
 */
export function subscribeToShard(
  backend: Backend,
  input: Record<string, unknown>,
  res: ServerResponse,
  timing: SubscriptionTiming,
): void {
  const { stream } = consumerByArn(backend, input.ConsumerARN);
  const shard = stream.shards.find((s) => s.shardId === input.ShardId);
  if (!shard)
    throw new ServiceError('ResourceNotFoundException', `shard ${String(input.ShardId)} not found`);
  const position = (input.StartingPosition ?? {}) as Record<string, unknown>;
  let next = startIndex(shard, String(position.Type), position.SequenceNumber, position.Timestamp);
  // What to resume after when nothing was sent yet: the record before `next`, or the shard's start.
  let continuation = shard.records[next - 1]?.sequenceNumber ?? shard.startingSequenceNumber;
  res.writeHead(200, { 'content-type': EVENT_STREAM_CONTENT_TYPE });
  res.write(encodeEvent('initial-response', {}));
  const startedAt = Date.now();
  let lastEventAt = 0; // the first poll sends an event at once, as the service does
  const stop = () => {
    clearInterval(timer);
    if (!res.writableEnded) res.end();
  };
  const push = () => {
    const now = Date.now();
    if (now - startedAt >= timing.lifetimeMillis) return stop();
    const records = shard.records.slice(next, next + MAX_RECORDS_PER_EVENT);
    const closedAndDrained =
      shard.endingSequenceNumber !== undefined && next + records.length >= shard.records.length;
    if (records.length === 0 && !closedAndDrained && now - lastEventAt < timing.heartbeatMillis)
      return;
    next += records.length;
    continuation = records[records.length - 1]?.sequenceNumber ?? continuation;
    lastEventAt = now;
    res.write(
      encodeEvent('SubscribeToShardEvent', {
        Records: records.map(recordJson),
        MillisBehindLatest: millisBehindLatest(shard, next),
        ...(closedAndDrained
          ? { ChildShards: childShardsJson(stream, shard) }
          : { ContinuationSequenceNumber: continuation }),
      }),
    );
    if (closedAndDrained) stop();
  };
  const timer = setInterval(push, timing.pollMillis);
  res.once('close', () => clearInterval(timer));
  push();
}
