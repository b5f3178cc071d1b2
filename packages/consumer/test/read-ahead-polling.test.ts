import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { runShard } from '../src/lifecycle/driver';
import { createPollingRetrieval, READ_AHEAD_DEFAULTS } from '../src/retrieval/polling/index';
import type { ReadAheadReader } from '../src/retrieval/polling/read-ahead';
import type { ReadAheadLimits } from '../src/retrieval/polling/read-ahead-buffer';
import { resolveConsumerOptions } from '../src/options';
import { fakeKinesisPerTest } from './support/fake-streams';
import { MINIMAL_OPTIONS, optionsWith } from './support/options';
import { scriptedShard, SHARD } from './support/scripted';

// Polling read-ahead against the fake Kinesis (real HTTP, real GetRecords): the shard's task
// context is scripted (manual clock for the watchdog, recording lease table), the reads are not.

const kinesis = fakeKinesisPerTest();
const fill = kinesis.fill;

const getRecords = () => kinesis.fake.stats.calls.GetRecords ?? 0;

/** A shard task reading `stream` by polling with `readAhead`, and a processor held on its first batch. */
async function pollingShard(stream: string, readAhead: ReadAheadLimits | false) {
  const retrieval = createPollingRetrieval({
    maxRecords: 3,
    idleTimeBetweenReadsMillis: 10,
    readAhead,
  });
  const client = kinesis.fake.client();
  await retrieval.start({
    kinesisClient: client,
    streamName: stream,
    streamArn: '',
    logger: pino({ level: 'silent' }),
    signal: new AbortController().signal,
  });
  const seen: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const held = { atEntry: -1 };
  const s = scriptedShard({
    retrieval,
    state: 'initializing',
    deps: {
      processor: {
        async processRecords(batch) {
          const first = seen.length === 0;
          seen.push(...batch.records.map((r) => Buffer.from(r.data).toString()));
          if (first) {
            held.atEntry = getRecords();
            await gate;
          }
        },
      },
    },
  });
  return { s, seen, release, held, client };
}

describe('polling read-ahead on the fake Kinesis', () => {
  it('the next GetRecords runs while the processor works; bounded; in order; to the shard end', async () => {
    kinesis.fake.createStream('s', 1);
    await fill('s', 12);
    const children = kinesis.fake.splitShard('s', SHARD);
    const { s, seen, release, held, client } = await pollingShard('s', {
      ...READ_AHEAD_DEFAULTS,
      maxBatches: 2,
    });
    const done = runShard(s.ctx, Promise.resolve());
    // The processor holds batch 1; reads go on meanwhile, and stop at the bound (2 batches held).
    await vi.waitFor(() => expect(held.atEntry).toBe(1), { timeout: 5000 });
    await vi.waitFor(() => expect(getRecords()).toBeGreaterThan(held.atEntry), { timeout: 5000 });
    const reader = s.ctx.reader as ReadAheadReader;
    await vi.waitFor(() => expect(reader.held.batches).toBe(2), { timeout: 5000 });
    // Held at the bound, the read loop has stopped, and only a next() starts it again: none is
    // pending while the processor holds batch 1, so nothing more goes out until it is released.
    await vi.waitFor(() => expect(reader.readingAhead).toBe(false), { timeout: 5000 });
    expect(s.ctx.readingSince).toBeUndefined();
    expect([getRecords(), reader.held.batches]).toEqual([3, 2]);
    release();
    await done;
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => `r${i}`));
    expect(s.children).toEqual([children]);
    expect(s.written.at(-1)!.checkpoint).toBe('SHARD_END');
    client.destroy();
  });

  it('throttling and an expired iterator are retried inside: every record once, in order', async () => {
    kinesis.fake.createStream('s', 1);
    await fill('s', 15);
    kinesis.fake.inject({ operation: 'GetRecords', kind: 'throttle', times: 2 });
    kinesis.fake.inject({ operation: 'GetRecords', kind: 'expired-iterator', times: 1 });
    const { s, seen, release, client } = await pollingShard('s', READ_AHEAD_DEFAULTS);
    release();
    const done = runShard(s.ctx, Promise.resolve());
    await vi.waitFor(() => expect(seen).toHaveLength(15), { timeout: 10_000 });
    s.ctx.requestShutdown('stop');
    await done;
    expect(seen).toEqual(Array.from({ length: 15 }, (_, i) => `r${i}`));
    expect(kinesis.fake.stats.calls.GetShardIterator).toBe(2);
    client.destroy();
  });

  it('a lost lease drops what was read ahead and aborts the GetRecords in flight; none after', async () => {
    kinesis.fake.createStream('s', 1);
    await fill('s', 12);
    const { s, seen, release, held, client } = await pollingShard('s', READ_AHEAD_DEFAULTS);
    // The fake holds each of the first three reads until released: the first two are let go one
    // at a time, the third is still on the wire when the lease is lost, and only aborting it can
    // end it.
    kinesis.fake.inject({ operation: 'GetRecords', kind: 'stall', times: 3 });
    const done = runShard(s.ctx, Promise.resolve());
    await vi.waitFor(() => expect(getRecords()).toBe(1), { timeout: 5000 });
    kinesis.fake.release();
    await vi.waitFor(() => expect([held.atEntry, getRecords()]).toEqual([1, 2]), { timeout: 5000 });
    kinesis.fake.release();
    const reader = s.ctx.reader as ReadAheadReader;
    await vi.waitFor(() => expect(reader.held.batches).toBe(1), { timeout: 5000 });
    await vi.waitFor(() => expect(getRecords()).toBe(3), { timeout: 5000 });
    expect([reader.held.batches, reader.readingAhead]).toEqual([1, true]);
    s.ctx.loseLease();
    release();
    await done;
    expect(reader.held.batches).toBe(0);
    expect(seen).toEqual(['r0', 'r1', 'r2']);
    expect(s.written).toEqual([]);
    // The held read ended only because close aborted it, and the read loop with it; a closed
    // reader never starts the loop again, so nothing more is sent.
    await vi.waitFor(() => expect(reader.readingAhead).toBe(false), { timeout: 5000 });
    expect(getRecords()).toBe(3);
    client.destroy();
  });
});

describe('readAhead option', () => {
  it('is on by default with the KCL bounds; false turns it off; bounds can be set', () => {
    expect(resolveConsumerOptions(MINIMAL_OPTIONS).readAhead).toEqual({
      maxBatches: 3,
      maxRecords: 30_000,
      maxBytes: 8 * 1024 * 1024,
    });
    expect(resolveConsumerOptions({ ...MINIMAL_OPTIONS, readAhead: true }).readAhead).toEqual(
      READ_AHEAD_DEFAULTS,
    );
    expect(resolveConsumerOptions({ ...MINIMAL_OPTIONS, readAhead: false }).readAhead).toBe(false);
    expect(
      resolveConsumerOptions({ ...MINIMAL_OPTIONS, readAhead: { maxBatches: 1, maxBytes: 1024 } })
        .readAhead,
    ).toEqual({ maxBatches: 1, maxRecords: 30_000, maxBytes: 1024 });
  });

  it('refuses what is not a bound, with a ConfigError naming it', () => {
    const bad = (readAhead: unknown) => () => resolveConsumerOptions(optionsWith({ readAhead }));
    expect(bad({ maxBatches: 0 })).toThrow(/readAhead\.maxBatches must be an integer/);
    expect(bad({ maxRecords: 1.5 })).toThrow(/readAhead\.maxRecords/);
    expect(bad({ maxBytes: '8MiB' })).toThrow(/readAhead\.maxBytes/);
    expect(bad('yes')).toThrow(/readAhead must be true, false or/);
    expect(bad(null)).toThrow(/readAhead must be true, false or/);
    expect(bad({ maxBatches: 0 })).toThrow(expect.objectContaining({ name: 'ConfigError' }));
  });
});
