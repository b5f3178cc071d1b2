import { describe, expect, it } from 'vitest';
import { shutdownShard } from '../../src/lifecycle/shutdown';
import type { ShutdownReason } from '../../src/processor';
import { plain, scriptedShard } from '../support/scripted';

// The shutdown task: a lost lease tells the processor and writes nothing (one final conditional
// checkpoint when no other owner was seen, as after failing renewals); a graceful stop lets
// the processor checkpoint and then checkpoints what was delivered; a hand-off leaves that final
// checkpoint to the hand-over write (handoff/graceful-handoff.ts), so it is written once.

function deliveredShard(
  reason: ShutdownReason | 'lost' | 'lost, maybe still ours',
  autoCheckpoint = true,
) {
  const heard: string[] = [];
  const s = scriptedShard({
    deps: {
      autoCheckpoint,
      processor: {
        processRecords: () => {},
        leaseLost: () => void heard.push('leaseLost'),
        shutdownRequested: ({ reason: why }) => void heard.push(`shutdownRequested ${why}`),
      },
    },
  });
  const last = plain('a');
  s.ctx.checkpointer.delivered({ sequenceNumber: last.sequenceNumber, subSequenceNumber: 2 });
  if (reason === 'lost') s.ctx.loseLease();
  else if (reason === 'lost, maybe still ours') s.ctx.loseLease(true);
  else s.ctx.requestShutdown(reason);
  return { s, heard, last };
}

describe('shutdownShard', () => {
  it('stop: shutdownRequested, then what was delivered is checkpointed', async () => {
    const { s, heard, last } = deliveredShard('stop');
    await shutdownShard(s.ctx);
    expect(heard).toEqual(['shutdownRequested stop']);
    expect(s.written).toEqual([{ checkpoint: last.sequenceNumber, sub: 2, handingOff: false }]);
    expect(s.ctx.lifecycle.state).toBe('stopped');
  });

  it('hand-off: shutdownRequested, and no checkpoint of its own; the hand-over carries it', async () => {
    const { s, heard, last } = deliveredShard('handoff');
    await shutdownShard(s.ctx);
    expect(heard).toEqual(['shutdownRequested handoff']);
    expect(s.written).toEqual([]);
    expect(s.ctx.checkpointer.handingOff).toBe(true);
    expect(s.ctx.checkpointer.pending).toEqual({
      sequenceNumber: last.sequenceNumber,
      subSequenceNumber: 2,
    });
  });

  it("hand-off: a checkpoint the processor makes in shutdownRequested is written as the hand-off's checkpointOwner", async () => {
    const s = scriptedShard({
      deps: {
        processor: {
          processRecords: () => {},
          shutdownRequested: (_input, checkpointer) => checkpointer.checkpoint(),
        },
      },
    });
    const last = plain('a');
    s.ctx.checkpointer.delivered({ sequenceNumber: last.sequenceNumber, subSequenceNumber: 0 });
    s.ctx.requestShutdown('handoff');
    await shutdownShard(s.ctx);
    expect(s.written).toEqual([{ checkpoint: last.sequenceNumber, sub: 0, handingOff: true }]);
    expect(s.ctx.checkpointer.pending).toBeUndefined(); // nothing left for the hand-over to write
  });

  it('stop without autoCheckpoint: only the processor checkpoints', async () => {
    const { s, heard } = deliveredShard('stop', false);
    await shutdownShard(s.ctx);
    expect(heard).toEqual(['shutdownRequested stop']);
    expect(s.written).toEqual([]);
  });

  it('lost lease: leaseLost, no shutdownRequested, nothing written', async () => {
    const { s, heard } = deliveredShard('lost');
    await shutdownShard(s.ctx);
    expect(heard).toEqual(['leaseLost']);
    expect(s.written).toEqual([]);
    expect(s.events.map((e) => e.type)).toEqual(['leaseLost']);
    expect(s.ctx.lifecycle.state).toBe('stopped');
  });

  it('lost lease with no other owner seen: leaseLost, and what was delivered is written once, conditional on still owning it', async () => {
    const { s, heard, last } = deliveredShard('lost, maybe still ours');
    await shutdownShard(s.ctx);
    expect(heard).toEqual(['leaseLost']);
    expect(s.written).toEqual([{ checkpoint: last.sequenceNumber, sub: 2, handingOff: false }]);
    expect(s.events.map((e) => e.type)).toEqual(['leaseLost', 'checkpoint']);
    // The processor still may not checkpoint.
    await expect(s.ctx.checkpointer.checkpoint()).rejects.toThrow();
  });

  it('lost lease with no other owner seen, without autoCheckpoint: nothing written', async () => {
    const { s } = deliveredShard('lost, maybe still ours', false);
    await shutdownShard(s.ctx);
    expect(s.written).toEqual([]);
  });

  it('lost lease whose final write is refused (a taker got there first): reported, stopped all the same', async () => {
    const { s, heard } = deliveredShard('lost, maybe still ours');
    s.ctx.d.table.checkpoint = () => Promise.reject(new Error('conditional check failed'));
    await shutdownShard(s.ctx);
    expect(heard).toEqual(['leaseLost']);
    expect(s.events.map((e) => e.type)).toEqual(['leaseLost']);
    expect(s.lines.map((l) => l.msg)).toContain(
      'lease lost: the final checkpoint was refused or failed',
    );
    expect(s.ctx.lifecycle.state).toBe('stopped');
  });
});
