import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Consumer, type ShardProcessor } from '@shardline/consumer';
import { Producer } from '@shardline/producer';
import { otelTraceContext, tracedProcessor } from '@shardline/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStream, dynamoDBClient, kinesisClient, uniqueName, waitFor } from '../src/backend';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('trace-context-test');
const manager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  api.context.setGlobalContextManager(manager.enable());
});
afterAll(() => {
  api.context.disable();
});

/** Puts `count` records under one active span each batch of 10; returns span id by record id. */
async function produceTraced(streamName: string, count: number): Promise<Map<string, string>> {
  const producer = new Producer({
    streamName,
    kinesisClient: kinesisClient(),
    recordMaxBufferedTime: 50,
    traceContext: otelTraceContext({ api }),
  });
  const spanOf = new Map<string, string>();
  const puts: Promise<unknown>[] = [];
  for (let s = 0; s < count / 10; s++) {
    tracer.startActiveSpan(`send ${s}`, (span) => {
      for (let i = s * 10; i < s * 10 + 10; i++) {
        const id = `r-${i}`;
        spanOf.set(id, span.spanContext().spanId);
        puts.push(producer.put({ partitionKey: `key-${i % 7}`, data: id }));
      }
      span.end();
    });
  }
  await Promise.all(puts);
  await producer.close();
  return spanOf;
}

function consumer(streamName: string, processor: ShardProcessor): Consumer {
  return new Consumer({
    streamName,
    applicationName: uniqueName('trace-app'),
    kinesisClient: kinesisClient(),
    dynamoDBClient: dynamoDBClient(),
    initialPosition: 'TRIM_HORIZON',
    failoverTimeMillis: 1500,
    idleTimeBetweenReadsMillis: 200,
    shardSyncIntervalMillis: 1000,
    processor: tracedProcessor(processor, { tracer, api, streamName }),
  });
}

describe('W3C trace context from producer to consumer through the stream', () => {
  it('per record: each processing span is the child of the span that put the record', async () => {
    const streamName = uniqueName('trace-record');
    await createStream(streamName, 2);
    exporter.reset();
    const spanOf = await produceTraced(streamName, 100);
    const sendSpans = new Map(exporter.getFinishedSpans().map((s) => [s.spanContext().spanId, s]));
    const parentOf = new Map<string, string | undefined>();
    const worker = consumer(streamName, {
      processRecord(record) {
        parentOf.set(
          Buffer.from(record.data).toString(),
          api.trace.getSpanContext(api.context.active())?.spanId,
        );
      },
    });
    await worker.start();
    await waitFor(() => parentOf.size === spanOf.size, {
      timeoutMs: 60_000,
      message: 'all records consumed',
    });
    await worker.stop();
    const processing = exporter
      .getFinishedSpans()
      .filter((s) => s.name === `process ${streamName}`);
    expect(processing.length).toBeGreaterThanOrEqual(spanOf.size);
    // Every record's processing span: parent = the send span active when it was put, same trace.
    const byOwnId = new Map(processing.map((s) => [s.spanContext().spanId, s]));
    for (const [id, sendSpanId] of spanOf) {
      const span = byOwnId.get(parentOf.get(id)!)!;
      expect(span.parentSpanContext?.spanId).toBe(sendSpanId);
      expect(span.spanContext().traceId).toBe(sendSpans.get(sendSpanId)!.spanContext().traceId);
      expect(span.attributes['messaging.system']).toBe('aws_kinesis');
    }
  });

  it('per batch: the batch span links to the span of each record that shared an aggregate', async () => {
    const streamName = uniqueName('trace-batch');
    await createStream(streamName, 1);
    exporter.reset();
    const spanOf = await produceTraced(streamName, 50);
    const got = new Set<string>();
    const worker = consumer(streamName, {
      processRecords(batch) {
        for (const r of batch.records) got.add(Buffer.from(r.data).toString());
      },
    });
    await worker.start();
    await waitFor(() => got.size === spanOf.size, {
      timeoutMs: 60_000,
      message: 'all records consumed',
    });
    await worker.stop();
    const links = exporter
      .getFinishedSpans()
      .filter((s) => s.name === `process ${streamName}`)
      .flatMap((s) => s.links.map((l) => l.context.spanId));
    expect(new Set(links)).toEqual(new Set(spanOf.values()));
  });
});
