import { deaggregate } from '@shardline/aggregation';
import { describe, expect, it } from 'vitest';
import { ConfigError, InvalidRecordError, traceTags, type TraceContext } from '../src/index';
import { useFakeStream } from './fake-stream';

const ctx = useFakeStream('t');
const PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const OTHER = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';

/** Every user record stored, with the tags it came back with. */
function readBack(streamName: string) {
  return ctx.fake
    .records(streamName)
    .flatMap((r) => deaggregate({ ...r, data: r.data }, { strict: true }))
    .map((u) => ({ key: u.partitionKey, data: Buffer.from(u.data).toString(), tags: u.tags }));
}

describe('trace context', () => {
  it('carries the supplied context as each aggregated record’s tags, and a record’s own instead', async () => {
    let active: TraceContext | undefined = { traceparent: PARENT, tracestate: 'v=1' };
    const { streamName, producer } = ctx.setup(1, { traceContext: () => active });
    const puts = [
      producer.put({ partitionKey: 'a', data: 'one' }),
      producer.put({ partitionKey: 'b', data: 'two', traceContext: { traceparent: OTHER } }),
    ];
    active = undefined;
    puts.push(producer.put({ partitionKey: 'c', data: 'three' }));
    await Promise.all(puts);
    expect(readBack(streamName)).toEqual([
      { key: 'a', data: 'one', tags: { traceparent: PARENT, tracestate: 'v=1' } },
      { key: 'b', data: 'two', tags: { traceparent: OTHER } },
      { key: 'c', data: 'three', tags: undefined },
    ]);
  });

  it('reads the context once per putMany call, at the call', async () => {
    let calls = 0;
    const { streamName, producer } = ctx.setup(1, {
      traceContext: () => {
        calls++;
        return { traceparent: PARENT };
      },
    });
    await producer.putMany([
      { partitionKey: 'a', data: '1' },
      { partitionKey: 'b', data: '2' },
    ]);
    expect(calls).toBe(1);
    expect(readBack(streamName).map((r) => r.tags)).toEqual([
      { traceparent: PARENT },
      { traceparent: PARENT },
    ]);
  });

  it('leaves a record sent alone untouched: a plain Kinesis record has no place for it', async () => {
    const { streamName, producer } = ctx.setup(1, {
      aggregation: false,
      traceContext: () => ({ traceparent: PARENT }),
    });
    await Promise.all([
      producer.put({ partitionKey: 'a', data: 'one' }),
      producer.put({ partitionKey: 'b', data: 'two' }),
    ]);
    const stored = ctx.fake.records(streamName);
    expect(stored.map((r) => [r.partitionKey, r.data.toString()])).toEqual([
      ['a', 'one'],
      ['b', 'two'],
    ]);
  });

  it('fails a put whose context is malformed with InvalidRecordError at the boundary', async () => {
    const { producer } = ctx.setup(1, { traceContext: () => ({ traceparent: 'nope' }) });
    await expect(producer.put({ partitionKey: 'a', data: 'x' })).rejects.toMatchObject({
      name: 'InvalidRecordError',
      code: 'TRACE_CONTEXT_INVALID',
    });
    await expect(
      producer.put({ partitionKey: 'a', data: 'x', traceContext: { traceparent: PARENT } }),
    ).resolves.toMatchObject({ shardId: expect.any(String) });
  });

  it('refuses a traceContext option that is not a function', () => {
    expect(() => ctx.setup(1, { traceContext: 'x' as never })).toThrow(ConfigError);
  });

  it.each([
    ['not hex', '00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01'],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['zero span id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['upper case', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'],
    ['short', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7'],
  ])('traceTags refuses a traceparent that is %s', (_, traceparent) => {
    expect(() => traceTags({ traceparent })).toThrow(InvalidRecordError);
  });

  it('traceTags refuses a tracestate that is too long or not printable, and drops an empty one', () => {
    expect(() => traceTags({ traceparent: PARENT, tracestate: 'x'.repeat(513) })).toThrow(
      InvalidRecordError,
    );
    expect(() => traceTags({ traceparent: PARENT, tracestate: 'a=\n' })).toThrow(
      InvalidRecordError,
    );
    expect(traceTags({ traceparent: PARENT, tracestate: '' })).toEqual({ traceparent: PARENT });
  });
});
