import type { Logger } from 'pino';
import type { LeaseCleaner } from '../leases/lease-cleanup';
import type { InitialPosition } from '../options';
import type { ShardProcessor } from '../processor';
import type { Retrieval } from '../retrieval/types';

/** A stream a consumer of `streams` reads, with what is kept per stream (the KCL's `StreamConfig` and its `ShardSyncTaskManager`). */
export interface ConsumedStream {
  /** The serialized stream identifier, `account:stream:creationEpoch`: its leases' key prefix. */
  id: string;
  streamName: string;
  streamArn: string;
  /** How it was named (`streamName` or `streamArn`): what its shard listings ask for. */
  target: { streamName?: string; streamArn?: string };
  initialPosition: InitialPosition;
  /** Its own processor; undefined uses the consumer's. */
  processor: ShardProcessor | undefined;
  retrieval: Retrieval;
  /** The consumer's logger with `stream` bound. */
  logger: Logger;
  /** Cleanup state is per stream: "missing from the last listing" is a fact of one stream's listing. */
  cleaner: LeaseCleaner;
}

/** The streams being read, by identifier; found by name, ARN or identifier. */
export class StreamRegistry {
  private readonly byId = new Map<string, ConsumedStream>();

  get(id: string | undefined): ConsumedStream | undefined {
    return id === undefined ? undefined : this.byId.get(id);
  }

  /** By stream name, ARN or serialized identifier. */
  find(nameOrArn: string): ConsumedStream | undefined {
    return (
      this.byId.get(nameOrArn) ??
      [...this.byId.values()].find((s) => s.streamArn === nameOrArn || s.streamName === nameOrArn)
    );
  }

  add(stream: ConsumedStream): void {
    this.byId.set(stream.id, stream);
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  list(): ConsumedStream[] {
    return [...this.byId.values()];
  }
}
