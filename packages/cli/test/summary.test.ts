import { describe, expect, it } from 'vitest';
import { DeliveryLedger, LeaseMoves } from '../src/commands/demo';
import { makePayload } from '../src/record-source';
import {
  formatDemoSummary,
  formatProduceSummary,
  percentiles,
  rates,
  type DemoSummary,
} from '../src/summary';

describe('summaries', () => {
  it('percentiles by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentiles(values, [50, 95, 99, 100])).toEqual([50, 95, 99, 100]);
    expect(percentiles([], [50])).toEqual([0]);
  });

  it('rates stay finite for instant runs', () => {
    expect(rates(10, 2_000_000, 0)).toEqual({ recordsPerSecond: 10_000, megabytesPerSecond: 2000 });
  });

  it('the produce summary says when a run was interrupted and lists failures by code', () => {
    const text = formatProduceSummary({
      stream: 's',
      sent: 10,
      failed: 2,
      seconds: 1,
      bytes: 100,
      recordsPerSecond: 10,
      megabytesPerSecond: 0,
      retries: 1,
      throttles: 1,
      kinesisRecords: 1,
      putRecordsCalls: 1,
      failuresByCode: { RECORD_EXPIRED: 2 },
      interrupted: true,
    });
    expect(text).toContain('produce interrupted');
    expect(text).toContain('RECORD_EXPIRED: 2');
  });

  it('the demo verdict follows ok / interrupted', () => {
    const base: DemoSummary = {
      ok: true,
      records: 10,
      shards: 2,
      workers: 2,
      retrieval: 'polling',
      compression: 'gzip',
      sent: 10,
      failed: 0,
      received: 10,
      duplicates: 0,
      missing: 0,
      checksumOk: true,
      seconds: 3,
      produceSeconds: 1,
      consumeSeconds: 2,
      producedPerSecond: 10,
      consumedPerSecond: 5,
      latencyMs: { p50: 1, p95: 2, p99: 3, max: 4 },
      retries: 0,
      throttles: 0,
      kinesisRecords: 1,
      leaseAcquisitions: 2,
      leaseMoves: 1,
      interrupted: false,
    };
    expect(formatDemoSummary(base)).toContain('demo passed');
    expect(formatDemoSummary(base)).toContain('1 moved between workers');
    expect(formatDemoSummary({ ...base, ok: false, missing: 3 })).toContain('demo FAILED');
    expect(formatDemoSummary({ ...base, ok: false, interrupted: true })).toContain(
      'demo interrupted',
    );
  });
});

describe('DeliveryLedger (demo verification)', () => {
  const payload = (i: number) => makePayload('run', i, 1000, 40);

  it('counts received, duplicates, missing and latency', () => {
    const ledger = new DeliveryLedger('run', 4);
    for (let i = 0; i < 4; i++) ledger.sent(i, payload(i));
    ledger.delivered(Buffer.from(payload(0)), 1500);
    ledger.delivered(Buffer.from(payload(2)), 1200);
    ledger.delivered(Buffer.from(payload(2)), 1300);
    expect(ledger.received).toBe(2);
    expect(ledger.duplicates).toBe(1);
    expect(ledger.missing()).toBe(2);
    expect(ledger.latencies).toEqual([500, 200]);
    expect(ledger.checksumOk()).toBe(true);
  });

  it("a record whose bytes changed fails the checksum; other runs' records are foreign", () => {
    const ledger = new DeliveryLedger('run', 2);
    ledger.sent(0, payload(0));
    ledger.sent(1, payload(1));
    const tampered = Buffer.from(payload(0));
    tampered[tampered.length - 1] = 0x21;
    ledger.delivered(tampered, 1000);
    expect(ledger.checksumOk()).toBe(false);
    const other = new DeliveryLedger('run', 2);
    other.delivered(Buffer.from(makePayload('other-run', 0, 1, 40)), 2);
    expect(other.foreign).toBe(1);
    expect(other.checksumOk()).toBe(false);
  });

  it('LeaseMoves counts a shard changing workers, not first acquisitions', () => {
    const moves = new LeaseMoves();
    moves.acquired('s0', 'w1');
    moves.acquired('s1', 'w1');
    moves.acquired('s1', 'w2');
    moves.acquired('s1', 'w2');
    expect(moves.acquisitions).toBe(4);
    expect(moves.moves).toBe(1);
  });
});
