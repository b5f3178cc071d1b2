import { describe, expect, it } from 'vitest';
import { PendingLedger } from '../src/pending-ledger';
import { PendingRecord } from '../src/user-record';

const record = (n: number) =>
  new PendingRecord(
    `k${n}`,
    undefined,
    new Uint8Array(1),
    0n,
    1,
    0,
    0,
    () => {},
    () => {},
  );

/** True once `promise` has settled, checked after the microtasks queued so far have run. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

describe('PendingLedger', () => {
  it('drained() waits for exactly the records added before it, whatever order they finish in', async () => {
    const ledger = new PendingLedger();
    const [a, b, c] = [record(1), record(2), record(3)];
    ledger.add(a);
    ledger.add(b);
    const first = ledger.drained();
    ledger.add(c);
    const second = ledger.drained();
    ledger.remove(b);
    expect(await isSettled(first)).toBe(false);
    ledger.remove(a);
    expect(await isSettled(first)).toBe(true);
    expect(await isSettled(second)).toBe(false);
    ledger.remove(c);
    expect(await isSettled(second)).toBe(true);
    expect(ledger.size).toBe(0);
  });

  it('resolves at once when nothing is pending, and ignores a second removal', async () => {
    const ledger = new PendingLedger();
    expect(await isSettled(ledger.drained())).toBe(true);
    const a = record(1);
    ledger.add(a);
    ledger.remove(a);
    ledger.remove(a);
    expect(ledger.size).toBe(0);
    expect(ledger.toArray()).toEqual([]);
  });

  it('lists records in acceptance order, and the copy survives removals while iterating', () => {
    const ledger = new PendingLedger();
    const records = Array.from({ length: 5 }, (_, i) => record(i));
    for (const r of records) ledger.add(r);
    ledger.remove(records[2]!);
    const listed = ledger.toArray();
    expect(listed.map((r) => r.partitionKey)).toEqual(['k0', 'k1', 'k3', 'k4']);
    for (const r of listed) ledger.remove(r);
    expect(ledger.size).toBe(0);
  });
});
