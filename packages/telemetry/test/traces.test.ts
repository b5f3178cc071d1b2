import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { aggregate } from '@shardline/aggregation';
import type { ConsumerRecord, ShardProcessor } from '@shardline/consumer';
import { kinesisRecordHandler } from '@shardline/consumer/lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { otelTraceContext, tracedProcessor, tracedRecordHandler } from '../src/index';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');
const manager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  api.context.setGlobalContextManager(manager.enable());
});
afterAll(() => {
  api.context.disable();
});
beforeEach(() => exporter.reset());

const PARENT = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
const traceparent = `00-${PARENT.traceId}-${PARENT.spanId}-01`;

const record = (i: number, traced: boolean): ConsumerRecord => ({
  data: Buffer.from(String(i)),
  partitionKey: `k${i}`,
  sequenceNumber: '49',
  subSequenceNumber: i,
  aggregated: true,
  ...(traced ? { traceContext: { traceparent, tracestate: 'v=1' } } : {}),
});

describe('otelTraceContext', () => {
  it('gives the active span as traceparent and tracestate, and nothing outside a span', () => {
    const supply = otelTraceContext({ api });
    expect(supply()).toBeUndefined();
    tracer.startActiveSpan('produce', (span) => {
      const { traceId, spanId } = span.spanContext();
      expect(supply()).toEqual({ traceparent: `00-${traceId}-${spanId}-01` });
      expect(supply()).toBe(supply()); // same span: same object, checked once by the producer
      span.end();
    });
    const state = api.createTraceState('v=1');
    const ctx = api.trace.setSpanContext(api.context.active(), {
      traceId: PARENT.traceId,
      spanId: PARENT.spanId,
      traceFlags: 0,
      traceState: state,
    });
    api.context.with(ctx, () =>
      expect(supply()).toEqual({
        traceparent: `00-${PARENT.traceId}-${PARENT.spanId}-00`,
        tracestate: 'v=1',
      }),
    );
  });
});

describe('tracedProcessor', () => {
  it('runs processRecord in a child span of the record’s producer context', async () => {
    let active: api.SpanContext | undefined;
    const processor: ShardProcessor = {
      processRecord() {
        active = api.trace.getSpanContext(api.context.active());
      },
    };
    const traced = tracedProcessor(processor, { tracer, api, streamName: 'orders' });
    const signal = new AbortController().signal;
    await traced.processRecord!(record(0, true), { shardId: 'shardId-0', signal, attempt: 1 });
    await traced.processRecord!(record(1, false), { shardId: 'shardId-0', signal, attempt: 1 });
    const [first, second] = exporter.getFinishedSpans();
    expect(first!.name).toBe('process orders');
    expect(first!.kind).toBe(api.SpanKind.CONSUMER);
    expect(first!.spanContext().traceId).toBe(PARENT.traceId);
    expect(first!.parentSpanContext?.spanId).toBe(PARENT.spanId);
    expect(first!.attributes).toMatchObject({
      'messaging.system': 'aws_kinesis',
      'messaging.destination.name': 'orders',
      'messaging.operation.type': 'process',
      'messaging.destination.partition.id': 'shardId-0',
      'messaging.message.id': '49/0',
    });
    expect(second!.parentSpanContext).toBeUndefined();
    expect(active?.spanId).toBe(second!.spanContext().spanId);
  });

  it('runs processRecords in one span linked to every traced record, and records a throw', async () => {
    const processor: ShardProcessor = {
      processRecords() {
        throw new Error('boom');
      },
    };
    const traced = tracedProcessor(processor, { tracer, api, streamName: 'orders' });
    const batch = { shardId: 's', records: [record(0, true), record(1, false), record(2, true)] };
    await expect(Promise.resolve(traced.processRecords!(batch, {} as never))).rejects.toThrow(
      'boom',
    );
    const [span] = exporter.getFinishedSpans();
    expect(span!.links.map((l) => l.context.spanId)).toEqual([PARENT.spanId, PARENT.spanId]);
    expect(span!.links[0]!.context.traceState?.get('v')).toBe('1');
    expect(span!.attributes['messaging.batch.message_count']).toBe(3);
    expect(span!.status.code).toBe(api.SpanStatusCode.ERROR);
  });
});

describe('tracedRecordHandler', () => {
  it('makes each Lambda record’s span a child of its producer context', async () => {
    const [agg] = aggregate([
      { partitionKey: 'a', data: Buffer.from('x'), tags: { traceparent } },
      { partitionKey: 'b', data: Buffer.from('y') },
    ]);
    const handler = kinesisRecordHandler(tracedRecordHandler(() => undefined, { tracer, api }));
    const seq = '49650000000000000000000000000000000000000000000000000001';
    await handler(
      {
        Records: [
          {
            kinesis: {
              partitionKey: 'a',
              sequenceNumber: seq,
              data: Buffer.from(agg!.data).toString('base64'),
              approximateArrivalTimestamp: 1_732_350_000,
            },
            eventID: `shardId-000000000003:${seq}`,
            eventSourceARN: 'arn:aws:kinesis:eu-west-1:123456789012:stream/orders',
          },
        ],
      },
      {},
    );
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => [s.name, s.parentSpanContext?.spanId])).toEqual([
      ['process orders', PARENT.spanId],
      ['process orders', undefined],
    ]);
    expect(spans[0]!.attributes['messaging.destination.partition.id']).toBe('shardId-000000000003');
  });
});
