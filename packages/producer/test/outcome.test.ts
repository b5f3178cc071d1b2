import { describe, expect, it } from 'vitest';
import { BufferBudget } from '../src/backpressure';
import { MetricsRecorder } from '../src/metrics';
import { Outcomes, type PutResult } from '../src/outcome';
import { PendingLedger } from '../src/pending-ledger';
import { kinesisRecord, userRecord } from './stage-fixtures';

function outcomes() {
  const ledger = new PendingLedger();
  const budget = new BufferBudget(100, 1_000_000);
  const metrics = new MetricsRecorder(undefined);
  return { o: new Outcomes(ledger, metrics, budget, () => 0), ledger, budget, metrics };
}

describe('Outcomes', () => {
  it('resolves each record of a delivered aggregate with its sub-sequence number, once, and frees its room', () => {
    const { o, ledger, budget } = outcomes();
    const records = [userRecord('k', 'a'), userRecord('j', 'b'), userRecord('k', 'c')];
    for (const r of records) {
      ledger.add(r);
      budget.tryAcquire(r.bufferedBytes);
    }
    records[1]!.fail(new Error('already failed')); // settled before: left as it is
    ledger.remove(records[1]!);
    budget.release(records[1]!.bufferedBytes);
    o.succeed(kinesisRecord('A', records), 'A', '42', {
      startedAt: 1,
      durationMs: 2,
      success: true,
    });
    expect(records[0]!.outcome as PutResult).toMatchObject({
      shardId: 'A',
      sequenceNumber: '42',
      subSequenceNumber: 0,
      aggregated: true,
    });
    expect((records[2]!.outcome as PutResult).subSequenceNumber).toBe(2);
    expect(records[1]!.outcome).toBeInstanceOf(Error);
    expect(ledger.size).toBe(0);
    expect(budget.records).toBe(0);
    // A second outcome is ignored.
    o.fail(records[0]!, new Error('late'));
    expect((records[0]!.outcome as PutResult).shardId).toBe('A');
  });

  it("a failure names its cause and frees the record's room", () => {
    const { o, ledger, budget, metrics } = outcomes();
    const r = userRecord('k');
    ledger.add(r);
    budget.tryAcquire(r.bufferedBytes);
    o.fail(r, Object.assign(new Error('x'), { code: 'RECORD_EXPIRED' }));
    expect(r.outcome).toMatchObject({ code: 'RECORD_EXPIRED' });
    expect(metrics.stats.failuresByCode).toEqual({ RECORD_EXPIRED: 1 });
    expect(budget.records).toBe(0);
  });
});
