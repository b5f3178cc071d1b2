import { describe, expect, it } from 'vitest';
import { countIds, idOf, tally } from '../../src/faults/count';
import { isAfterCheckpoint } from '../../src/faults/lease-table';
import { formatTable } from '../../src/faults/report';
import { aggregate } from '@shardline/aggregation';

// The counting behind the report table: if these are wrong, every row is.

describe('reliability report tools', () => {
  it('counts ids inside aggregates and plain records, and tallies lost and duplicates', () => {
    const [agg] = aggregate([
      { partitionKey: 'a', data: Buffer.from('r1|pad') },
      { partitionKey: 'a', data: Buffer.from('r2') },
    ]);
    const counts = countIds([
      { data: agg!.data, partitionKey: agg!.partitionKey, sequenceNumber: '1' },
      { data: Buffer.from('r2'), partitionKey: 'b', sequenceNumber: '2' },
    ]);
    expect(counts).toEqual(
      new Map([
        ['r1', 1],
        ['r2', 2],
      ]),
    );
    expect(tally(['r1', 'r2', 'r3'], counts)).toEqual({
      sent: 3,
      received: 2,
      duplicates: 1,
      lost: 1,
    });
    expect(idOf(Buffer.from('x-1|payload|more'))).toBe('x-1');
  });

  it('orders positions against a checkpoint by sequence then sub-sequence; sentinels put everything after', () => {
    expect(isAfterCheckpoint('100', 0, '99', 5)).toBe(true);
    expect(isAfterCheckpoint('100', 3, '100', 2)).toBe(true);
    expect(isAfterCheckpoint('100', 2, '100', 2)).toBe(false);
    expect(isAfterCheckpoint('99', 9, '100', 0)).toBe(false);
    expect(isAfterCheckpoint('1', 0, 'TRIM_HORIZON', 0)).toBe(true);
    expect(isAfterCheckpoint('1', 0, undefined, 0)).toBe(true);
  });

  it('prints one table in the issue order, whatever order the files ran in', () => {
    const row = (scenario: string) => ({
      scenario,
      sent: 10,
      received: 10,
      duplicates: 0,
      lost: 0,
      faultsInjected: 1,
      result: 'pass' as const,
    });
    const table = formatTable([row('10. later'), row('2. second'), row('1. first')]).split('\n');
    expect(table[0]).toMatch(
      /^\| scenario +\| records sent \| received \| duplicates \| lost \| faults injected \| result \|$/,
    );
    expect(table.slice(2).map((line) => line.split('|')[1]!.trim())).toEqual([
      '1. first',
      '2. second',
      '10. later',
    ]);
    expect(new Set(table.map((line) => line.length)).size).toBe(1);
  });
});
