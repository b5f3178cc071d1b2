import { describe, expect, it } from 'vitest';
import { runShard } from '../../src/lifecycle/driver';
import { plain, scriptedRetrieval, scriptedShard, settle } from '../support/scripted';

// The driver: the tasks in order (initialize → process → shard-end or shutdown → stopped), the
// reader closed and the watchdog stopped whatever happens.

function tracing() {
  const calls: string[] = [];
  const processor = {
    initialize: () => void calls.push('initialize'),
    processRecords: () => void calls.push('processRecords'),
    shardEnded: async (_i: unknown, cp: { checkpoint(): Promise<void> }) => {
      calls.push('shardEnded');
      await cp.checkpoint();
    },
    shutdownRequested: () => void calls.push('shutdownRequested'),
    leaseLost: () => void calls.push('leaseLost'),
  };
  return { calls, processor };
}

describe('runShard', () => {
  it('initialize → process → shard end, then stopped; reader closed, watchdog stopped', async () => {
    const { calls, processor } = tracing();
    const retrieval = scriptedRetrieval([[plain('a')], { records: [], shardEnded: true }]);
    const states: string[] = [];
    const s = scriptedShard({ retrieval, state: 'initializing', deps: { processor } });
    const to = s.ctx.lifecycle.to.bind(s.ctx.lifecycle);
    s.ctx.lifecycle.to = (state) => {
      const moved = to(state);
      if (moved) states.push(state);
      return moved;
    };
    await runShard(s.ctx, Promise.resolve());
    expect(calls).toEqual(['initialize', 'processRecords', 'shardEnded']);
    expect(states).toEqual(['processing', 'shard-ended', 'stopped']);
    expect(s.written.map((w) => w.checkpoint)).toEqual([expect.any(String), 'SHARD_END']);
    expect(retrieval.closed).toBeGreaterThanOrEqual(1);
    expect(s.clock.ticking).toBe(0);
  });

  it('a lost lease while reading: leaseLost, no shutdownRequested, stopped', async () => {
    const { calls, processor } = tracing();
    const s = scriptedShard({
      retrieval: scriptedRetrieval([[plain('a')], 'hang']),
      state: 'initializing',
      deps: { processor },
    });
    const done = runShard(s.ctx, Promise.resolve());
    await settle();
    s.ctx.loseLease();
    await done;
    expect(calls).toEqual(['initialize', 'processRecords', 'leaseLost']);
    expect(s.ctx.lifecycle.state).toBe('stopped');
    expect(s.clock.ticking).toBe(0);
  });

  it('a stop while waiting for a hand-off: nothing is initialized or read, and it is stopped', async () => {
    const { calls, processor } = tracing();
    const retrieval = scriptedRetrieval();
    const s = scriptedShard({ retrieval, state: 'waiting-for-handoff', deps: { processor } });
    let begin!: () => void;
    const done = runShard(s.ctx, new Promise<void>((resolve) => (begin = resolve)));
    s.ctx.requestShutdown('stop');
    begin();
    await done;
    expect(calls).toEqual([]);
    expect(retrieval.positions).toEqual([]);
    expect(s.ctx.lifecycle.state).toBe('stopped');
  });

  it('a shard already at SHARD_END reads nothing', async () => {
    const { calls, processor } = tracing();
    const retrieval = scriptedRetrieval();
    const s = scriptedShard({
      retrieval,
      checkpoint: 'SHARD_END',
      state: 'initializing',
      deps: { processor },
    });
    await runShard(s.ctx, Promise.resolve());
    expect(calls).toEqual([]);
    expect(retrieval.positions).toEqual([]);
    expect(s.ctx.lifecycle.state).toBe('shard-ended');
  });
});
