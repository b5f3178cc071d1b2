import { describe, expect, it } from 'vitest';
import { StallError } from '../../src/lifecycle/context';
import { StallWatchdog } from '../../src/lifecycle/stall-watchdog';
import { scriptedShard } from '../support/scripted';

// The stall watchdog on a clock moved by hand: a pending read silent for longer than
// stallTimeoutMillis is a stall (aborted, once); a long processRecords call is a slow processor
// (reported once, nothing aborted). stallTimeoutMillis is 1000 ms here, so it ticks every 250 ms.

const WARN = 40;

describe('StallWatchdog', () => {
  it('aborts a read silent for longer than the stall timeout, once, and counts the stall', () => {
    const s = scriptedShard();
    const watchdog = new StallWatchdog(s.ctx);
    const read = new AbortController();
    s.ctx.readController = read;
    s.ctx.readingSince = s.clock.now();
    watchdog.start();
    s.clock.advance(1000); // exactly the timeout: not yet a stall
    expect(read.signal.aborted).toBe(false);
    s.clock.advance(250);
    expect(read.signal.reason).toBeInstanceOf(StallError);
    expect(s.events).toEqual([{ type: 'stall', shardId: s.ctx.shardId, silentForMs: 1250 }]);
    expect(s.ctx.health.stalls).toBe(1);
    expect(s.lines.filter((l) => l.level === WARN).map((l) => l.msg)).toEqual([
      'shard reader stalled: no read returned; restarting it',
    ]);
    s.clock.advance(5000); // the same read is not reported again
    expect(s.ctx.health.stalls).toBe(1);
    watchdog.stop();
    expect(s.clock.ticking).toBe(0);
  });

  it('leaves a read alone while the shard is not processing (shutting down, ended)', () => {
    const s = scriptedShard({ state: 'shutting-down' });
    const watchdog = new StallWatchdog(s.ctx);
    const read = new AbortController();
    s.ctx.readController = read;
    s.ctx.readingSince = 0;
    watchdog.start();
    s.clock.advance(10_000);
    expect(read.signal.aborted).toBe(false);
    expect(s.events).toEqual([]);
    watchdog.stop();
  });

  it('reports a long processRecords call as a slow processor once, and aborts nothing', () => {
    const s = scriptedShard();
    const watchdog = new StallWatchdog(s.ctx);
    const read = new AbortController();
    s.ctx.readController = read;
    watchdog.start();
    watchdog.callStarted(7);
    s.clock.advance(1000);
    expect(watchdog.slowNow()).toBe(false);
    s.clock.advance(250);
    expect(watchdog.slowNow()).toBe(true);
    s.clock.advance(10_000);
    expect(s.events).toEqual([
      { type: 'slowProcessor', shardId: s.ctx.shardId, runningForMs: 1250, records: 7 },
    ]);
    expect(s.ctx.health).toMatchObject({ slowBatches: 1, stalls: 0 });
    expect(read.signal.aborted).toBe(false);
    watchdog.callReturned();
    expect(watchdog.slowNow()).toBe(false);
    expect(s.lines.map((l) => l.msg)).toContain('slow processRecords call returned');
    watchdog.stop();
  });

  it('reports a slow call that returns between two ticks when it returns', () => {
    const s = scriptedShard();
    const watchdog = new StallWatchdog(s.ctx);
    watchdog.start();
    watchdog.callStarted(1);
    s.clock.advance(1010); // the tick at 1250 ms never sees it
    watchdog.callReturned();
    expect(s.events).toEqual([
      { type: 'slowProcessor', shardId: s.ctx.shardId, runningForMs: 1010, records: 1 },
    ]);
    s.clock.advance(5000);
    expect(s.events).toHaveLength(1);
    watchdog.stop();
  });

  it('a call within the timeout is nothing', () => {
    const s = scriptedShard();
    const watchdog = new StallWatchdog(s.ctx);
    watchdog.start();
    watchdog.callStarted(1);
    s.clock.advance(1000);
    watchdog.callReturned();
    expect(s.events).toEqual([]);
    expect(s.ctx.health.slowBatches).toBe(0);
    watchdog.stop();
  });
});
