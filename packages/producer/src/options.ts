import type { KinesisClient } from '@aws-sdk/client-kinesis';
import {
  checkStreamTarget,
  ConfigError,
  configInteger as int,
  type CompressionCodec,
} from '@shardline/aggregation';
import type { Logger } from 'pino';
import { MAX_LAMBDA_LANES } from './lambda-lanes';
import type { MetricEvent } from './metrics';
import type { TraceContext } from './trace-context';

const MiB = 1024 * 1024;

/** Options of `new Producer(...)`. Defaults follow the KPL's `default_config.properties`. */
export interface ProducerOptions {
  /** Stream to write to. One of `streamName` or `streamArn` is required. */
  streamName?: string;
  /** Stream ARN, instead of (or beside) its name. */
  streamArn?: string;
  /** An SDK v3 client you configured. If absent, one is built from `region`/`endpoint`/`credentials`. */
  kinesisClient?: KinesisClient;
  /** Region for the client the producer builds (default: the SDK's resolution, e.g. AWS_REGION). */
  region?: string;
  /** Endpoint for the client the producer builds (LocalStack, kinesis-local). */
  endpoint?: string;
  /** Credentials for the client the producer builds (default: the SDK's provider chain). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /**
   * HTTP for the client the producer builds: `'http1'` (default; keep-alive, what measured
   * fastest for PutRecords and what a plain-HTTP emulator port needs) or `'http2'`.
   */
  httpHandler?: 'http1' | 'http2';

  /** Pack user records into KPL aggregates, per predicted shard. Default true. */
  aggregation?: boolean;
  /** Most user records in one aggregate. Default 4,294,967,295 (KPL). */
  aggregationMaxCount?: number;
  /**
   * Most bytes of one aggregate (data + partition key). Default `maxRecordBytes` (1 MiB). The
   * KPL's 51,200 dates from an old service limit; larger aggregates mean fewer Kinesis records,
   * which is what the per-shard 1,000 records/s limit counts.
   */
  aggregationMaxSize?: number;
  /** Most entries in one PutRecords call. Default 500 (the service's limit). */
  collectionMaxCount?: number;
  /** Most bytes (data + partition keys) in one PutRecords call. Default 5 MiB (the service's limit). */
  collectionMaxSize?: number;
  /**
   * How long a record may wait for others to share its aggregate and request, in ms. Default 100.
   * It bounds latency, not order: see `preserveKeyOrder`.
   */
  recordMaxBufferedTime?: number;
  /**
   * Keep each partition key's records in the stream in `put` order (by shard, sequence number and
   * sub-sequence number), through partial failures, throttles, timeouts, retries and resharding.
   * Default true. With aggregation, each shard has one Kinesis record (aggregate) out at a time
   * and a failed one is retried before anything after it; without, each partition key has one
   * record out at a time. A copy written again after an unknown outcome (a timeout) may land
   * after later records; each record's first copy is in order. `false` lets every record go at
   * once (retries may overtake later records): measured, no gain with aggregation and up to about
   * 30% more records/s per shard without (see the README's Benchmark).
   */
  preserveKeyOrder?: boolean;
  /** A record not delivered this long after `put` fails with `RecordExpiredError`. Default 30,000 ms. */
  recordTtl?: number;
  /**
   * Per-shard rate limit, in percent of the shard limits (1,000 records/s and 1 MiB/s). Default
   * 150: a little above the limit, so a shard is used fully and the service, not us, has the last word.
   */
  rateLimit?: number;
  /** Fail throttled records at once instead of retrying them. Default false. */
  failIfThrottled?: boolean;
  /** Timeout of one PutRecords request, in ms. Default 6,000. A timed-out request may have succeeded: its retry can duplicate. */
  requestTimeout?: number;
  /** Most PutRecords requests in flight at once. Default 24 (KPL MaxConnections). */
  maxConnections?: number;
  /**
   * Memory, in bytes, the producer may hold for records accepted and not yet finished; `put`
   * waits for room beyond. Default 64 MiB. Each record is charged its data and key times 14/3:
   * itself, its copy inside an aggregate, and its base64 request body (4/3, in a buffer grown by
   * doubling, so up to 8/3); 11/3 without aggregation, 17/3 with aggregate-scope compression. So
   * 64 MiB holds about 13.7 MiB of user data in flight.
   */
  maxBufferedBytes?: number;
  /** Most user records buffered; `put` waits for room beyond. Default 100,000. */
  maxBufferedRecords?: number;
  /**
   * Largest Kinesis record, data + partition key, in bytes. Default 1 MiB. Streams raised with
   * UpdateMaxRecordSize take up to 10 MiB (and PutRecords calls up to 10 MiB then).
   */
  maxRecordBytes?: number;
  /** Compress user data (`scope: 'record'`) or whole aggregates (`scope: 'aggregate'`, default) with the aggregation package's envelope. Default: off. */
  compression?: { codec: CompressionCodec; scope?: 'record' | 'aggregate' };
  /** Retries (throttling, 5xx, timeouts, resets, per-entry failures): exponential backoff with full jitter. */
  retry?: {
    /**
     * Retries over which the backoff doubles; beyond, it stays at `maxTimeout`. A record is
     * retried until its `recordTtl` ends it. Default 10.
     */
    retries?: number;
    /** Backoff base, ms. Default 100. */
    minTimeout?: number;
    /** Backoff cap, ms. Default 5,000. */
    maxTimeout?: number;
  };
  /** How often the shard map is refreshed even without a sign of resharding, ms. Default 60,000. */
  shardMapRefreshInterval?: number;
  /** pino logger; default silent. Payloads and credentials are never logged. */
  logger?: Logger;
  /** Called for every metric event (records put, aggregates sent, calls, retries, throttles, failures). Must be cheap. */
  onMetric?: (event: MetricEvent) => void;
  /**
   * Supplies the active W3C trace context at put time, carried with each record that does not
   * bring its own (`ProducerRecord.traceContext`) as its `traceparent`/`tracestate` tags inside
   * the KPL aggregate, which other readers (the KCL, aws-kinesis-agg) skip. A record sent alone
   * carries none: a plain Kinesis record has no place for it. `otelTraceContext(api)` from
   * `@shardline/telemetry` gives one that reads OpenTelemetry's active context. Called once per
   * `put` (once per `putMany` call); a bad context or a throw fails those puts with it
   * (`InvalidRecordError` `TRACE_CONTEXT_INVALID` for a malformed one). Default: none.
   */
  traceContext?: () => TraceContext | undefined;
  /**
   * Lambda lanes per shard, 1 to 100 (default: off, aggregates as without the option). With it,
   * records are aggregated per (shard, lane of their partition key: the low 32 bits of its
   * hash key modulo `lambdaLanes`), and every aggregate, a lone record too, goes out with partition key
   * `lane-<n>` and an explicit hash key inside its shard. A Lambda event source mapping with
   * `ParallelizationFactor` > 1 then spreads a shard over several concurrent batches while one
   * key always stays in one of them (in order). Choose at least the factor, e.g. twice it: lanes
   * share a Lambda batch by hash. Needs `aggregation` (the default). See the README's "Lambda lanes".
   */
  lambdaLanes?: number;
}

/** Options with every default filled in and checked. */
export interface ResolvedOptions {
  streamName: string | undefined;
  streamArn: string | undefined;
  aggregation: boolean;
  aggregationMaxCount: number;
  aggregationMaxSize: number;
  collectionMaxCount: number;
  collectionMaxSize: number;
  recordMaxBufferedTime: number;
  recordTtl: number;
  rateLimit: number;
  failIfThrottled: boolean;
  preserveKeyOrder: boolean;
  requestTimeout: number;
  maxConnections: number;
  maxBufferedBytes: number;
  maxBufferedRecords: number;
  maxRecordBytes: number;
  compression: { codec: CompressionCodec; scope: 'record' | 'aggregate' } | undefined;
  traceContext: (() => TraceContext | undefined) | undefined;
  /** Lanes per shard, or undefined: off. */
  lambdaLanes: number | undefined;
  retries: number;
  retryMinTimeout: number;
  retryMaxTimeout: number;
  shardMapRefreshInterval: number;
}

/** Fills in defaults and refuses values that cannot work, with a `ConfigError` naming the option. */
export function resolveOptions(options: ProducerOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object')
    throw new ConfigError('Producer options must be an object');
  const { streamName, streamArn } = options;
  checkStreamTarget(options, 'Producer');
  const maxRecordBytes = int(options.maxRecordBytes, 'maxRecordBytes', MiB, 1, 10 * MiB);
  const collectionMaxSize = int(
    options.collectionMaxSize,
    'collectionMaxSize',
    5 * MiB,
    1,
    10 * MiB,
  );
  if (collectionMaxSize < maxRecordBytes) {
    throw new ConfigError(
      `collectionMaxSize (${collectionMaxSize}) must be at least maxRecordBytes (${maxRecordBytes})`,
    );
  }
  const compression = options.compression;
  if (compression !== undefined) {
    if (compression.codec !== 'gzip' && compression.codec !== 'snappy') {
      throw new ConfigError(
        `compression.codec must be 'gzip' or 'snappy', got ${JSON.stringify(compression.codec)}`,
      );
    }
    if (
      compression.scope !== undefined &&
      compression.scope !== 'record' &&
      compression.scope !== 'aggregate'
    ) {
      throw new ConfigError(
        `compression.scope must be 'record' or 'aggregate', got ${JSON.stringify(compression.scope)}`,
      );
    }
  }
  const retryMinTimeout = int(options.retry?.minTimeout, 'retry.minTimeout', 100, 0, 60_000);
  const retryMaxTimeout = int(options.retry?.maxTimeout, 'retry.maxTimeout', 5000, 0, 600_000);
  if (retryMaxTimeout < retryMinTimeout)
    throw new ConfigError('retry.maxTimeout must be at least retry.minTimeout');
  if (
    options.kinesisClient !== undefined &&
    typeof (options.kinesisClient as { send?: unknown }).send !== 'function'
  ) {
    throw new ConfigError('kinesisClient must be an SDK v3 KinesisClient');
  }
  if (
    options.httpHandler !== undefined &&
    options.httpHandler !== 'http1' &&
    options.httpHandler !== 'http2'
  ) {
    throw new ConfigError(
      `httpHandler must be 'http1' or 'http2', got ${JSON.stringify(options.httpHandler)}`,
    );
  }
  const aggregation = bool(options.aggregation, 'aggregation', true);
  const lambdaLanes =
    options.lambdaLanes === undefined
      ? undefined
      : int(options.lambdaLanes, 'lambdaLanes', 1, 1, MAX_LAMBDA_LANES);
  if (lambdaLanes !== undefined && !aggregation)
    throw new ConfigError('lambdaLanes needs aggregation: lane keys are carried by aggregates');
  return {
    streamName,
    streamArn,
    aggregation,
    aggregationMaxCount: int(
      options.aggregationMaxCount,
      'aggregationMaxCount',
      4_294_967_295,
      1,
      4_294_967_295,
    ),
    aggregationMaxSize: Math.min(
      int(options.aggregationMaxSize, 'aggregationMaxSize', maxRecordBytes, 64, 10 * MiB),
      maxRecordBytes,
    ),
    collectionMaxCount: int(options.collectionMaxCount, 'collectionMaxCount', 500, 1, 500),
    collectionMaxSize,
    recordMaxBufferedTime: int(
      options.recordMaxBufferedTime,
      'recordMaxBufferedTime',
      100,
      0,
      60_000,
    ),
    recordTtl: int(options.recordTtl, 'recordTtl', 30_000, 100, 24 * 3600_000),
    rateLimit: int(options.rateLimit, 'rateLimit', 150, 1, 10_000),
    failIfThrottled: bool(options.failIfThrottled, 'failIfThrottled', false),
    preserveKeyOrder: bool(options.preserveKeyOrder, 'preserveKeyOrder', true),
    requestTimeout: int(options.requestTimeout, 'requestTimeout', 6000, 100, 600_000),
    maxConnections: int(options.maxConnections, 'maxConnections', 24, 1, 256),
    maxBufferedBytes: int(
      options.maxBufferedBytes,
      'maxBufferedBytes',
      64 * MiB,
      1,
      Number.MAX_SAFE_INTEGER,
    ),
    maxBufferedRecords: int(
      options.maxBufferedRecords,
      'maxBufferedRecords',
      100_000,
      1,
      Number.MAX_SAFE_INTEGER,
    ),
    maxRecordBytes,
    compression: compression
      ? { codec: compression.codec, scope: compression.scope ?? 'aggregate' }
      : undefined,
    traceContext: fn(options.traceContext, 'traceContext'),
    lambdaLanes,
    retries: int(options.retry?.retries, 'retry.retries', 10, 0, 1000),
    retryMinTimeout,
    retryMaxTimeout,
    shardMapRefreshInterval: int(
      options.shardMapRefreshInterval,
      'shardMapRefreshInterval',
      60_000,
      1000,
      24 * 3600_000,
    ),
  };
}

function fn<T>(value: T | undefined, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function')
    throw new ConfigError(`${name} must be a function, got ${typeof value}`);
  return value;
}

function bool(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}
