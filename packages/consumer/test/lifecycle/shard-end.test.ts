import { describe, expect, it } from 'vitest';
import { endShard } from '../../src/lifecycle/shard-end';
import { scriptedShard } from '../support/scripted';

// The shard-end task: children recorded, SHARD_END checkpointed by the processor or, if it
// forgets, by the consumer (children cannot start otherwise), and the consumer told.

const WARN = 40;

describe('endShard', () => {
  it("the processor's own checkpoint in shardEnded writes SHARD_END, once", async () => {
    const ended: [string, string[]][] = [];
    const s = scriptedShard({
      deps: {
        processor: {
          processRecords: () => {},
          shardEnded: (_input, checkpointer) => checkpointer.checkpoint(),
        },
        onShardEnded: (shardId, children) => void ended.push([shardId, children]),
      },
    });
    await endShard(s.ctx, ['c1', 'c2']);
    expect(s.children).toEqual([['c1', 'c2']]);
    expect(s.written).toEqual([{ checkpoint: 'SHARD_END', sub: 0, handingOff: false }]);
    expect(ended).toEqual([[s.ctx.shardId, ['c1', 'c2']]]);
    expect(s.events.map((e) => e.type)).toEqual(['checkpoint', 'shardEnded']);
    expect(s.ctx.lifecycle.state).toBe('stopped');
    expect(s.lines.filter((l) => l.level === WARN)).toEqual([]);
  });

  it('a shardEnded that forgets to checkpoint: SHARD_END is written anyway, with a warning', async () => {
    const s = scriptedShard({
      deps: { processor: { processRecords: () => {}, shardEnded: () => {} } },
    });
    await endShard(s.ctx, []);
    expect(s.written).toEqual([{ checkpoint: 'SHARD_END', sub: 0, handingOff: false }]);
    expect(s.ctx.checkpointer.lastCheckpoint).toBe('SHARD_END');
    expect(s.lines.filter((l) => l.level === WARN).map((l) => l.msg)).toEqual([
      'shardEnded did not checkpoint; writing SHARD_END so child shards can start',
    ]);
  });

  it('a lost lease at the end: no shardEnded event, the children are not looked for', async () => {
    const ended: string[] = [];
    const s = scriptedShard({ deps: { onShardEnded: (id) => void ended.push(id) } });
    s.ctx.loseLease();
    await endShard(s.ctx, ['c1']);
    expect(s.written).toEqual([]);
    expect(ended).toEqual([]);
    expect(s.events.map((e) => e.type)).not.toContain('shardEnded');
  });
});
