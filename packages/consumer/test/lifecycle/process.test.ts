import { aggregate } from '@shardline/aggregation';
import { describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../src/errors';
import { processShard } from '../../src/lifecycle/process';
import { StallWatchdog } from '../../src/lifecycle/stall-watchdog';
import type { RecordBatch } from '../../src/processor';
import { plain, scriptedRetrieval, scriptedShard, settle } from '../support/scripted';

// The process task with scripted readers: records in order, the checkpoint after each batch,
// mid-aggregate resume, shard end, stop, lease loss, stalls and the processor-error policy.

const text = (b: RecordBatch) => b.records.map((r) => Buffer.from(r.data).toString());

describe('processShard', () => {
  it('delivers batches in order and checkpoints each one after processRecords returned', async () => {
    const a = plain('a');
    const b = plain('b');
    const c = plain('c');
    const order: string[] = [];
    const s = scriptedShard({
      retrieval: scriptedRetrieval([[a, b], [], [c], { records: [], shardEnded: true }]),
      deps: {
        processor: {
          processRecords: (batch) => void order.push(`process ${text(batch).join(',')}`),
        },
      },
    });
    const table = s.ctx.d.table;
    const write = table.checkpoint.bind(table);
    table.checkpoint = async (...args) => {
      order.push(`checkpoint ${args[2]}`);
      return write(...args);
    };
    const outcome = await processShard(
      s.ctx,
      { position: { type: 'TRIM_HORIZON' }, after: undefined },
      new StallWatchdog(s.ctx),
    );
    expect(outcome).toEqual({ kind: 'shard-ended', children: [] });
    expect(order).toEqual([
      'process a,b',
      `checkpoint ${b.sequenceNumber}`,
      'process c',
      `checkpoint ${c.sequenceNumber}`,
    ]);
    expect(s.ctx.checkpointer.lastCheckpoint).toEqual({
      sequenceNumber: c.sequenceNumber,
      subSequenceNumber: 0,
    });
    expect(s.ctx.health.recordsProcessed).toBe(3);
    expect(s.events.map((e) => e.type)).toEqual(['batch', 'checkpoint', 'batch', 'checkpoint']);
  });

  it('without autoCheckpoint writes nothing itself, but knows what was delivered', async () => {
    const a = plain('a');
    const s = scriptedShard({
      retrieval: scriptedRetrieval([[a], { records: [], shardEnded: true }]),
      deps: { autoCheckpoint: false },
    });
    await processShard(
      s.ctx,
      { position: { type: 'TRIM_HORIZON' }, after: undefined },
      new StallWatchdog(s.ctx),
    );
    expect(s.written).toEqual([]);
    expect(s.ctx.checkpointer.pending).toEqual({
      sequenceNumber: a.sequenceNumber,
      subSequenceNumber: 0,
    });
  });

  it('resumes inside an aggregate: sub-records at or before the checkpoint are not delivered again', async () => {
    const [agg] = aggregate(
      Array.from({ length: 5 }, (_, i) => ({ partitionKey: 'k', data: Buffer.from(`r${i}`) })),
    );
    const record = { data: agg!.data, partitionKey: 'k', sequenceNumber: '500' };
    const s = scriptedShard({
      retrieval: scriptedRetrieval([[record], { records: [], shardEnded: true }]),
      checkpoint: { sequenceNumber: '500', subSequenceNumber: 2 },
    });
    await processShard(
      s.ctx,
      {
        position: { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: '500' },
        after: { sequenceNumber: '500', subSequenceNumber: 2 },
      },
      new StallWatchdog(s.ctx),
    );
    expect(s.batches).toEqual([['r3', 'r4']]);
    expect(s.written).toEqual([{ checkpoint: '500', sub: 4, handingOff: false }]);
  });

  it('reports the children of an ended shard', async () => {
    const s = scriptedShard({
      retrieval: scriptedRetrieval([
        {
          records: [plain('last')],
          shardEnded: true,
          childShards: [
            { shardId: 'c1', parentShards: [] },
            { shardId: 'c2', parentShards: [] },
          ],
        },
      ]),
    });
    expect(
      await processShard(
        s.ctx,
        { position: { type: 'TRIM_HORIZON' }, after: undefined },
        new StallWatchdog(s.ctx),
      ),
    ).toEqual({ kind: 'shard-ended', children: ['c1', 'c2'] });
    expect(s.batches).toEqual([['last']]);
  });

  it('a graceful shutdown ends a pending read at once; the batch in flight is finished first', async () => {
    let release!: () => void;
    const s = scriptedShard({
      retrieval: scriptedRetrieval([[plain('a')], 'hang']),
      deps: {
        processor: {
          processRecords: () => new Promise<void>((resolve) => (release = resolve)),
        },
      },
    });
    const running = processShard(
      s.ctx,
      { position: { type: 'TRIM_HORIZON' }, after: undefined },
      new StallWatchdog(s.ctx),
    );
    await settle();
    s.ctx.requestShutdown('stop');
    release();
    expect(await running).toEqual({ kind: 'stopped' });
    // The batch in flight was finished and checkpointed before stopping.
    expect(s.written).toHaveLength(1);
  });

  it('a stalled read is restarted right after the last record delivered', async () => {
    const a = plain('a');
    const retrieval = scriptedRetrieval(
      [[a], 'hang'],
      [[plain('b')], { records: [], shardEnded: true }],
    );
    const s = scriptedShard({ retrieval });
    const watchdog = new StallWatchdog(s.ctx);
    watchdog.start();
    const running = processShard(
      s.ctx,
      { position: { type: 'TRIM_HORIZON' }, after: undefined },
      watchdog,
    );
    await settle();
    expect(s.batches).toEqual([['a']]);
    s.clock.advance(1250);
    expect(await running).toEqual({ kind: 'shard-ended', children: [] });
    watchdog.stop();
    expect(retrieval.positions).toEqual([
      { type: 'TRIM_HORIZON' },
      { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: a.sequenceNumber },
    ]);
    expect(s.batches).toEqual([['a'], ['b']]);
    expect(s.ctx.health.stalls).toBe(1);
  });

  it('a checkpoint refused for a lost lease stops the shard: no further batch', async () => {
    const s = scriptedShard({ retrieval: scriptedRetrieval([[plain('a')], [plain('b')]]) });
    s.ctx.d.table.checkpoint = () =>
      Promise.reject(new LeaseLostError(s.ctx.shardId, 'taken by another worker'));
    // LeaseLostError from the table itself (not a LeaseConflict): the checkpointer passes it on.
    const outcome = await processShard(
      s.ctx,
      { position: { type: 'TRIM_HORIZON' }, after: undefined },
      new StallWatchdog(s.ctx),
    );
    expect(outcome).toEqual({ kind: 'stopped' });
    expect(s.ctx.leaseLost).toBe(true);
    expect(s.batches).toEqual([['a']]);
    expect(s.ctx.checkpointer.disabled).toBe(true);
    expect(s.ctx.health.leaseHeld).toBe(false);
  });

  it("onProcessorError 'skip' moves past a failing batch; the next one is delivered and checkpointed", async () => {
    const a = plain('a');
    const b = plain('b');
    const policy: number[] = [];
    const s = scriptedShard({
      retrieval: scriptedRetrieval([[a], [b], { records: [], shardEnded: true }]),
      deps: {
        processor: {
          processRecords: (batch) => {
            if (text(batch)[0] === 'a') throw new Error('bad batch');
          },
        },
        onProcessorError: (_error, _batch, attempt) => {
          policy.push(attempt);
          return 'skip';
        },
      },
    });
    await processShard(
      s.ctx,
      { position: { type: 'TRIM_HORIZON' }, after: undefined },
      new StallWatchdog(s.ctx),
    );
    expect(policy).toEqual([1]);
    expect(s.events.map((e) => e.type)).toEqual([
      'processorError',
      'batch',
      'checkpoint',
      'batch',
      'checkpoint',
    ]);
    expect(s.ctx.checkpointer.lastCheckpoint).toEqual({
      sequenceNumber: b.sequenceNumber,
      subSequenceNumber: 0,
    });
    expect(s.ctx.health.lastError).toBeUndefined();
  });
});
