import type {
  Attributes,
  Context,
  Link,
  Span,
  SpanContext,
  SpanOptions,
  Tracer,
  TraceState,
} from '@opentelemetry/api';
import type {
  ConsumerRecord,
  RecordBatch,
  RecordContext,
  ShardProcessor,
} from '@shardline/consumer';
import type { KinesisUserRecord } from '@shardline/consumer/lambda';
import { ConfigError } from '@shardline/common';

/** A W3C trace context as the producer carries it and the consumer exposes it. */
export interface TraceHeaders {
  traceparent: string;
  tracestate?: string;
}

/**
 * The parts of the `@opentelemetry/api` module these helpers use: pass the module itself
 * (`import * as api from '@opentelemetry/api'`). This package never loads it (it is an optional
 * peer), so the application's copy, and its context manager, are the ones in use.
 */
export interface OtelApi {
  context: { active(): Context };
  trace: {
    getSpanContext(context: Context): SpanContext | undefined;
    setSpanContext(context: Context, spanContext: SpanContext): Context;
  };
  createTraceState?(raw?: string): TraceState;
  SpanKind: { CONSUMER: number };
  SpanStatusCode: { ERROR: number };
}

/** Options of {@link otelTraceContext}. */
export interface OtelTraceContextOptions {
  /** The `@opentelemetry/api` module. */
  api: Pick<OtelApi, 'context' | 'trace'>;
}

/**
 * A `traceContext` supplier for `new Producer(...)`: the active OpenTelemetry span's context as
 * W3C `traceparent`/`tracestate`, or undefined when no valid span is active.
 *
 * It formats the active span context itself rather than asking `propagation.inject`: the result
 * is the same W3C header, but it needs no global propagator registered (a bare SDK tracer
 * provider registers none) and it hands back the same object while the same span stays active,
 * so the producer checks it once, not once per put.
 *
 * ```ts
 * import * as api from '@opentelemetry/api';
 * const producer = new Producer({ streamName, traceContext: otelTraceContext({ api }) });
 * ```
 */
export function otelTraceContext(options: OtelTraceContextOptions): () => TraceHeaders | undefined {
  const api = options?.api;
  if (typeof api?.context?.active !== 'function' || typeof api.trace?.getSpanContext !== 'function')
    throw new ConfigError('api (the @opentelemetry/api module) is required');
  let lastSpan: SpanContext | undefined;
  let last: TraceHeaders | undefined;
  return () => {
    const span = api.trace.getSpanContext(api.context.active());
    if (span === undefined) return undefined;
    if (span === lastSpan) return last;
    lastSpan = span;
    last = headersOf(span);
    return last;
  };
}

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function headersOf(span: SpanContext): TraceHeaders | undefined {
  if (
    !TRACE_ID.test(span.traceId) ||
    !SPAN_ID.test(span.spanId) ||
    /^0+$/.test(span.traceId) ||
    /^0+$/.test(span.spanId)
  )
    return undefined;
  const flags = (span.traceFlags & 0xff).toString(16).padStart(2, '0');
  const headers: TraceHeaders = { traceparent: `00-${span.traceId}-${span.spanId}-${flags}` };
  const state = span.traceState?.serialize();
  if (state) headers.tracestate = state;
  return headers;
}

/** The remote span context a record's `traceContext` names; undefined when it is malformed. */
export function spanContextOf(
  headers: TraceHeaders | undefined,
  api?: Pick<OtelApi, 'createTraceState'>,
): SpanContext | undefined {
  if (headers === undefined) return undefined;
  const m = TRACEPARENT.exec(headers.traceparent);
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  const span: SpanContext = {
    traceId: m[2]!,
    spanId: m[3]!,
    traceFlags: parseInt(m[4]!, 16) & 1,
    isRemote: true,
  };
  if (headers.tracestate && api?.createTraceState)
    span.traceState = api.createTraceState(headers.tracestate);
  return span;
}

/** Options of {@link tracedProcessor} and {@link tracedRecordHandler}. */
export interface TracingOptions {
  /** The tracer to start processing spans on, e.g. `trace.getTracer('orders-consumer')`. */
  tracer: Tracer;
  /** The `@opentelemetry/api` module. */
  api: OtelApi;
  /**
   * The stream's name, for `messaging.destination.name` and the span name (`process <stream>`).
   * The Lambda wrapper reads it from each record's `eventSourceARN` when not given.
   */
  streamName?: string;
}

function checkTracing(options: TracingOptions): void {
  if (typeof options?.tracer?.startActiveSpan !== 'function')
    throw new ConfigError('tracer (an OpenTelemetry Tracer) is required');
  const api = options.api;
  if (
    typeof api?.context?.active !== 'function' ||
    typeof api.trace?.setSpanContext !== 'function' ||
    api.SpanKind === undefined ||
    api.SpanStatusCode === undefined
  )
    throw new ConfigError('api (the @opentelemetry/api module) is required');
}

/** Messaging semantic conventions (https://opentelemetry.io/docs/specs/semconv/messaging/). */
function baseAttributes(streamName: string | undefined, shardId: string): Attributes {
  const attributes: Attributes = {
    'messaging.system': 'aws_kinesis',
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.partition.id': shardId,
  };
  if (streamName !== undefined) attributes['messaging.destination.name'] = streamName;
  return attributes;
}

function recordAttributes(
  record: { sequenceNumber: string; subSequenceNumber: number; partitionKey: string },
  attributes: Attributes,
): Attributes {
  attributes['messaging.message.id'] = `${record.sequenceNumber}/${record.subSequenceNumber}`;
  attributes['aws.kinesis.partition_key'] = record.partitionKey;
  return attributes;
}

const spanName = (streamName: string | undefined) =>
  streamName === undefined ? 'process' : `process ${streamName}`;

/** Runs `fn` inside `span`, ending it and recording a throw (which is passed on). */
async function inSpan<T>(api: OtelApi, span: Span, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: String(error) });
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Wraps a `ShardProcessor` so each `processRecords` call runs in a `process <stream>` consumer
 * span with a link to every record's producer context, and each `processRecord` call in a span
 * that is the child of its record's producer context (the active context when the record carried
 * none). Attributes follow the OpenTelemetry messaging conventions (`messaging.system`
 * `aws_kinesis`, `messaging.operation.type` `process`, `messaging.destination.name`, the shard as
 * `messaging.destination.partition.id`, `messaging.batch.message_count`, `messaging.message.id`
 * as `<sequence>/<sub-sequence>`). A throw is recorded on the span and passed on unchanged. The
 * other methods are passed through.
 *
 * ```ts
 * import * as api from '@opentelemetry/api';
 * new Consumer({ ..., processor: tracedProcessor(processor, { tracer: api.trace.getTracer('orders'), api, streamName }) });
 * ```
 */
export function tracedProcessor<P extends ShardProcessor>(
  processor: P,
  options: TracingOptions,
): P {
  checkTracing(options);
  const { tracer, api, streamName } = options;
  const wrapped: ShardProcessor = Object.create(processor) as ShardProcessor;
  for (const key of ['initialize', 'leaseLost', 'shardEnded', 'shutdownRequested'] as const) {
    const method = processor[key];
    if (typeof method === 'function')
      (wrapped as Record<string, unknown>)[key] = method.bind(processor);
  }
  const processRecords = processor.processRecords;
  if (typeof processRecords === 'function') {
    wrapped.processRecords = (batch: RecordBatch, checkpointer) => {
      const links: Link[] = [];
      for (const record of batch.records) {
        const context = spanContextOf(record.traceContext, api);
        if (context) links.push({ context });
      }
      const attributes = baseAttributes(streamName, batch.shardId);
      attributes['messaging.batch.message_count'] = batch.records.length;
      const spanOptions: SpanOptions = { kind: api.SpanKind.CONSUMER, attributes, links };
      return tracer.startActiveSpan(spanName(streamName), spanOptions, (span) =>
        inSpan(api, span, () => processRecords.call(processor, batch, checkpointer)),
      );
    };
  }
  const processRecord = processor.processRecord;
  if (typeof processRecord === 'function') {
    wrapped.processRecord = (record: ConsumerRecord, context: RecordContext) => {
      const attributes = recordAttributes(record, baseAttributes(streamName, context.shardId));
      return tracer.startActiveSpan(
        spanName(streamName),
        { kind: api.SpanKind.CONSUMER, attributes },
        parentOf(api, record.traceContext),
        (span) => inSpan(api, span, () => processRecord.call(processor, record, context)),
      );
    };
  }
  return wrapped as P;
}

function parentOf(api: OtelApi, headers: TraceHeaders | undefined): Context {
  const active = api.context.active();
  const remote = spanContextOf(headers, api);
  return remote ? api.trace.setSpanContext(active, remote) : active;
}

/** The stream name in a Kinesis stream ARN (`arn:aws:kinesis:<region>:<account>:stream/<name>`). */
function streamOfArn(arn: string): string | undefined {
  const at = arn.lastIndexOf(':stream/');
  return at < 0 ? undefined : arn.slice(at + ':stream/'.length);
}

/**
 * Wraps the per-record handler of the Lambda adapter (`kinesisRecordHandler`) so each record
 * runs in a consumer span that is the child of its producer context, with the same attributes
 * as {@link tracedProcessor}; the stream name comes from the record's `eventSourceARN` unless
 * `streamName` is given.
 *
 * ```ts
 * import * as api from '@opentelemetry/api';
 * export const handler = kinesisRecordHandler(
 *   tracedRecordHandler(async (record) => save(record), { tracer: api.trace.getTracer('orders'), api }),
 * );
 * ```
 */
export function tracedRecordHandler<C extends object, R>(
  handler: (record: KinesisUserRecord, context: C) => R,
  options: TracingOptions,
): (record: KinesisUserRecord, context: C) => Promise<Awaited<R>> {
  checkTracing(options);
  const { tracer, api } = options;
  return (record, context) => {
    const streamName = options.streamName ?? streamOfArn(record.eventSourceARN);
    const attributes = recordAttributes(record, baseAttributes(streamName, record.shardId));
    return tracer.startActiveSpan(
      spanName(streamName),
      { kind: api.SpanKind.CONSUMER, attributes },
      parentOf(api, record.traceContext),
      (span) => inSpan(api, span, () => handler(record, context)) as Promise<Awaited<R>>,
    );
  };
}
