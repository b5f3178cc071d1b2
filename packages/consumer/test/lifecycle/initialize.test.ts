import { describe, expect, it } from 'vitest';
import { initializeShard, restartPosition, startPosition } from '../../src/lifecycle/initialize';
import { scriptedShard } from '../support/scripted';

// The initialize task: where a shard resumes, and what the processor is told before its first
// batch. Checkpoints are as the lease table holds them; nothing is read.

const SEQ = '49590338271490256608559692538361571095921575989136588898';

describe('startPosition', () => {
  const at = (lastCheckpoint: string | { sequenceNumber: string; subSequenceNumber: number }) =>
    startPosition({ lastDelivered: undefined, lastCheckpoint }, 'LATEST');

  it('resumes AT a sequence-number checkpoint (its sub-records are skipped when decoding)', () => {
    expect(at({ sequenceNumber: SEQ, subSequenceNumber: 4 })).toEqual({
      type: 'AT_SEQUENCE_NUMBER',
      sequenceNumber: SEQ,
    });
  });

  it('maps the sentinels: TRIM_HORIZON, LATEST, AT_TIMESTAMP (with the configured timestamp), SHARD_END (nothing)', () => {
    expect(at('TRIM_HORIZON')).toEqual({ type: 'TRIM_HORIZON' });
    expect(at('LATEST')).toEqual({ type: 'LATEST' });
    expect(at('SHARD_END')).toBeUndefined();
    const timestamp = new Date('2026-01-01T00:00:00Z');
    expect(
      startPosition({ lastDelivered: undefined, lastCheckpoint: 'AT_TIMESTAMP' }, { timestamp }),
    ).toEqual({ type: 'AT_TIMESTAMP', timestamp });
    expect(at('AT_TIMESTAMP')).toEqual({ type: 'TRIM_HORIZON' });
  });

  it('a restarted reader goes on right after the last record delivered, not from the checkpoint', () => {
    const delivered = { sequenceNumber: '77', subSequenceNumber: 3 };
    expect(
      restartPosition({ lastDelivered: delivered, lastCheckpoint: 'TRIM_HORIZON' }, 'LATEST'),
    ).toEqual({ type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: '77' });
    expect(
      restartPosition({ lastDelivered: undefined, lastCheckpoint: 'TRIM_HORIZON' }, 'LATEST'),
    ).toEqual({ type: 'TRIM_HORIZON' });
  });
});

describe('initializeShard', () => {
  it('tells the processor the checkpoint it resumes from, and skips up to it inside the aggregate', async () => {
    const calls: unknown[] = [];
    const checkpoint = { sequenceNumber: SEQ, subSequenceNumber: 4 };
    const s = scriptedShard({
      checkpoint,
      state: 'initializing',
      deps: { processor: { processRecords: () => {}, initialize: (i) => void calls.push(i) } },
    });
    expect(await initializeShard(s.ctx)).toEqual({
      position: { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: SEQ },
      after: checkpoint,
    });
    expect(calls).toEqual([{ shardId: s.ctx.shardId, checkpoint }]);
  });

  it('from a sentinel skips nothing', async () => {
    const s = scriptedShard({ checkpoint: 'TRIM_HORIZON', state: 'initializing' });
    expect(await initializeShard(s.ctx)).toEqual({
      position: { type: 'TRIM_HORIZON' },
      after: undefined,
    });
  });

  it('a shard already at SHARD_END is not initialized: there is nothing to read', async () => {
    const calls: unknown[] = [];
    const s = scriptedShard({
      checkpoint: 'SHARD_END',
      state: 'initializing',
      deps: { processor: { processRecords: () => {}, initialize: (i) => void calls.push(i) } },
    });
    expect(await initializeShard(s.ctx)).toBeUndefined();
    expect(calls).toEqual([]);
  });
});
