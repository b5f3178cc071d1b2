/**
 * The Lambda Kinesis event and response, declared here rather than taken from `@types/aws-lambda`
 * so users need no extra type package. They are structurally compatible with its
 * `KinesisStreamEvent` and `KinesisStreamBatchResponse`.
 */

/** The `kinesis` part of one event record, as Lambda delivers it. */
export interface KinesisEventPayload {
  /** Record data, base64. */
  data: string;
  partitionKey: string;
  sequenceNumber: string;
  /** Arrival time, seconds since the epoch (fractional). */
  approximateArrivalTimestamp: number;
  kinesisSchemaVersion?: string;
}

/** One Kinesis record of a Lambda event. */
export interface KinesisEventRecord {
  kinesis: KinesisEventPayload;
  /** `shardId-000000000000:<sequence number>`: the shard is read from here. */
  eventID: string;
  eventSourceARN: string;
  eventSource?: string;
  eventName?: string;
  eventVersion?: string;
  invokeIdentityArn?: string;
  awsRegion?: string;
}

/** What Lambda passes a function mapped to a Kinesis stream. */
export interface KinesisStreamEvent {
  Records: KinesisEventRecord[];
}

/** One failed Kinesis record; Lambda retries the shard from the lowest one reported. */
export interface BatchItemFailure {
  /** Sequence number of the Kinesis record (the parent of the failed user record). */
  itemIdentifier: string;
}

/**
 * The partial batch response. It takes effect only when the event source mapping has
 * `FunctionResponseTypes: ["ReportBatchItemFailures"]`.
 */
export interface KinesisStreamBatchResponse {
  batchItemFailures: BatchItemFailure[];
}

/**
 * The part of the Lambda context the adapter reads: none, it only passes it on. Declared loosely
 * so any Lambda context (or a test's stand-in) fits.
 */
export type LambdaContext = object;

/** A user record, de-aggregated and decompressed, as the handler receives it. */
export interface KinesisUserRecord {
  /** The user's bytes, with any compression envelope opened. */
  data: Buffer;
  partitionKey: string;
  explicitHashKey?: string;
  /** Sequence number of the Kinesis record that carried it (what is reported on failure). */
  sequenceNumber: string;
  /** Position inside its aggregate, 0..n−1; 0 for a record that was not aggregated. */
  subSequenceNumber: number;
  /** True when it came out of a KPL aggregate. */
  aggregated: boolean;
  approximateArrivalTimestamp: Date;
  /** Shard it was read from, from the event's `eventID`. */
  shardId: string;
  eventSourceARN: string;
  /** The event record's `eventID` (`shardId-…:<sequence number>`). */
  eventID: string;
  /**
   * The W3C trace context the producer carried with the record (its aggregate tags); absent when
   * it carried none. `tracedRecordHandler` from `@shardline/telemetry` makes it the parent of
   * the record's processing span.
   */
  traceContext?: { traceparent: string; tracestate?: string };
}

/** A Kinesis record, or one user record inside it, that cannot be decoded; given to `onPoisonRecord`. */
export interface PoisonRecord {
  shardId: string;
  eventSourceARN: string;
  eventID: string;
  /** Sequence number of the Kinesis record. */
  sequenceNumber: string;
  /** Set when one user record of a valid aggregate is bad (its compression envelope). */
  subSequenceNumber?: number;
  partitionKey: string;
  /** The undecodable bytes, as received (for a dead-letter queue). */
  data: Buffer;
  approximateArrivalTimestamp: Date;
}
