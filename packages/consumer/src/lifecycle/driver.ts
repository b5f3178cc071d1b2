import { LeaseLostError } from '../errors';
import type { ShardContext } from './context';
import { initializeShard } from './initialize';
import { processShard } from './process';
import { endShard } from './shard-end';
import { shutdownShard } from './shutdown';
import { StallWatchdog } from './stall-watchdog';

/**
 * Runs one shard's tasks in order, as the KCL's `ShardConsumer` moves through `ConsumerStates`:
 * (waiting for a hand-off) → initialize → process → shard-end or shutdown → stopped. Each task
 * is its own module; this only sequences them and guarantees the reader and the watchdog are
 * closed whatever happens. `started` resolves when the shard may begin (at once, or when the
 * previous owner's hand-off completed, or when it is stopped before that).
 */
export async function runShard(
  ctx: ShardContext,
  started: Promise<void>,
  watchdog: StallWatchdog = new StallWatchdog(ctx),
): Promise<void> {
  await started;
  try {
    if (ctx.stop.signal.aborted) {
      // Stopped (or lost) before it began: nothing was delivered, so there is no processor to
      // tell; it only leaves the states that count as owned.
      ctx.lifecycle.to('stopped');
      return;
    }
    const start = await initializeShard(ctx);
    if (!start) {
      // Already at SHARD_END: nothing to read; the coordinator drops the lease.
      ctx.lifecycle.to('processing');
      ctx.lifecycle.to('shard-ended');
      return;
    }
    if (!ctx.lifecycle.to('processing')) return;
    watchdog.start();
    const outcome = await processShard(ctx, start, watchdog);
    if (outcome.kind === 'shard-ended') await endShard(ctx, outcome.children);
    else await shutdownShard(ctx);
  } catch (error) {
    if (!(error instanceof LeaseLostError) && !ctx.leaseLost) throw error;
    await shutdownShard(ctx);
  } finally {
    watchdog.stop();
    await ctx.reader?.close().catch(() => {});
  }
}
