import { StallError, type ProcessorCall, type ShardContext } from './context';

/**
 * Tells a stalled reader from a slow processor, on the shard's injected clock. Only a read
 * pending longer than `stallTimeoutMillis` is a stall, and only that is restarted (its read is
 * aborted with `StallError`; the process task then restarts the reader). While `processRecords`
 * runs no read of the shard's is pending (the reader is pulled after the batch; a read-ahead
 * reader's own read then only fills its bounded buffer), so aborting would hit nothing: a long
 * call is reported as a slow processor instead, once per call. A read-ahead read that hangs is
 * seen once the shard waits on it: the wait is the pending read, and the restart closes the
 * reader, which aborts its read.
 */
export class StallWatchdog {
  private stopTicking: (() => void) | undefined;

  constructor(private readonly ctx: ShardContext) {}

  /** Looks every quarter of the stall timeout (at least every 250 ms). */
  start(): void {
    const period = Math.max(250, Math.floor(this.ctx.d.stallTimeoutMillis / 4));
    this.stopTicking ??= this.ctx.clock.every(period, () => this.tick());
  }

  stop(): void {
    this.stopTicking?.();
    this.stopTicking = undefined;
  }

  /** One look at the shard: a slow call is reported, a silent read is aborted as stalled. */
  tick(): void {
    const { ctx } = this;
    const timeout = ctx.d.stallTimeoutMillis;
    const now = ctx.clock.now();
    const p = ctx.processing;
    if (p && !p.reported && now - p.since > timeout) this.reportSlowProcessor(p, now - p.since);
    if (ctx.readingSince === undefined || ctx.lifecycle.state !== 'processing') return;
    const silent = now - ctx.readingSince;
    if (silent <= timeout) return;
    ctx.health.stalls++;
    ctx.d.metric({ type: 'stall', shardId: ctx.shardId, silentForMs: silent });
    ctx.d.logger.warn(
      { shardId: ctx.shardId, silentForMs: silent },
      'shard reader stalled: no read returned; restarting it',
    );
    ctx.readingSince = undefined; // one report per stalled read
    ctx.readController?.abort(new StallError('stalled'));
  }

  /** A `processRecords` call of `records` records begins. */
  callStarted(records: number): void {
    this.ctx.processing = { since: this.ctx.clock.now(), records, reported: false };
  }

  /** The call returned (or threw): a slow call no tick saw is reported now, so each is one event. */
  callReturned(): void {
    const { ctx } = this;
    const p = ctx.processing;
    ctx.processing = undefined;
    if (!p) return;
    const ranForMs = ctx.clock.now() - p.since;
    if (!p.reported && ranForMs > ctx.d.stallTimeoutMillis) this.reportSlowProcessor(p, ranForMs);
    if (p.reported)
      ctx.d.logger.info({ shardId: ctx.shardId, ranForMs }, 'slow processRecords call returned');
  }

  /** True while the call in flight has run longer than the stall timeout. */
  slowNow(): boolean {
    const p = this.ctx.processing;
    return p !== undefined && this.ctx.clock.now() - p.since > this.ctx.d.stallTimeoutMillis;
  }

  private reportSlowProcessor(p: ProcessorCall, runningForMs: number): void {
    const { ctx } = this;
    p.reported = true;
    ctx.health.slowBatches++;
    ctx.d.metric({ type: 'slowProcessor', shardId: ctx.shardId, runningForMs, records: p.records });
    ctx.d.logger.warn(
      {
        shardId: ctx.shardId,
        runningForMs,
        records: p.records,
        stallTimeoutMillis: ctx.d.stallTimeoutMillis,
      },
      'processRecords is running longer than stallTimeoutMillis; the shard waits for it (its reader is not stalled, nothing is restarted)',
    );
  }
}
