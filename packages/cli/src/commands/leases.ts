import {
  formatPosition,
  listLeases,
  rewindCheckpoints,
  ShardlineError,
  type LeaseStatus,
  type RewindChange,
  type RewindResult,
  type ShardLag,
} from '@shardline/consumer';
import type { LeasesArgs } from '../args';
import {
  dynamoDBClientFor,
  kinesisClientFor,
  resolveAwsConfig,
  type AwsConfig,
} from '../aws-config';
import { BackendError } from '../errors';
import type { CliIo } from '../io';
import { backendError, checkStream } from '../preflight';
import { formatCount } from '../progress';

/**
 * `shardline leases`: lists the lease table of `--app` (with each checkpoint's lag when `--stream`
 * is given); `shardline leases rewind`: moves its checkpoints, refusing while a running worker
 * holds a lease it would change unless `--force`, which fences that worker. Exit 0 when done, 1 on
 * a refusal, a lease that changed under the rewind or a backend error, 130 on Ctrl-C during the
 * watch (nothing written then).
 */
export async function runLeases(args: LeasesArgs, io: CliIo): Promise<number> {
  const config = resolveAwsConfig(args.aws, io.env);
  const dynamodb = dynamoDBClientFor(config);
  const kinesis = args.stream !== undefined ? kinesisClientFor(config) : undefined;
  const table = args.leaseTable ?? args.app;
  // What a backend error names: the table, and the stream when one was read too.
  const target = `lease table ${table}${args.stream !== undefined ? ` or stream ${args.stream}` : ''}`;
  const base = {
    applicationName: args.app,
    dynamoDBClient: dynamodb,
    ...(args.leaseTable !== undefined ? { leaseTableName: args.leaseTable } : {}),
    ...(kinesis && args.stream !== undefined
      ? { kinesisClient: kinesis, streamName: args.stream }
      : {}),
    signal: io.signal,
  };
  try {
    if (kinesis && args.stream !== undefined) await checkStream(kinesis, args.stream, config);
    if (args.action === 'list') {
      const leases = await backendCall(() => listLeases(base), target, config);
      io.stdout.write(
        args.json
          ? JSON.stringify({ table, stream: args.stream ?? null, leases: leases.map(leaseJson) }) +
              '\n'
          : formatLeases(table, leases, args.stream !== undefined),
      );
      return 0;
    }
    let result: RewindResult;
    try {
      result = await backendCall(
        () =>
          rewindCheckpoints({
            ...base,
            ...(args.to !== undefined ? { to: args.to } : {}),
            ...(args.shards.length > 0 ? { shardIds: args.shards } : {}),
            sequences: args.sequences,
            force: args.force,
            dryRun: args.dryRun,
            failoverTimeMillis: args.failoverTimeMs,
            onWatch: ({ ownedLeases, failoverTimeMillis }) => {
              if (!args.json)
                io.stderr.write(
                  `${ownedLeases} lease(s) owned: watching their counters for up to ${(failoverTimeMillis / 1000).toFixed(1)} s (the failover time) to tell running workers from dead ones...\n`,
                );
            },
          }),
        target,
        config,
      );
    } catch (error) {
      if (!io.signal.aborted) throw error;
      io.stderr.write('shardline: interrupted while watching the leases; nothing was written\n');
      return 130;
    }
    io.stdout.write(args.json ? JSON.stringify(rewindJson(result)) + '\n' : formatRewind(result));
    const conflicts = result.changes.filter((c) => c.status === 'conflict');
    if (conflicts.length === 0) return 0;
    io.stderr.write(
      `shardline: ${conflicts.length} lease(s) changed while being rewound and were left as they are (${conflicts.map((c) => c.shardId).join(', ')}); the others were rewound. Run the rewind again [REWIND_CONFLICT]\n`,
    );
    return 1;
  } finally {
    dynamodb.destroy();
    kinesis?.destroy();
  }
}

/** Typed errors pass through; SDK and network errors become one line naming `what`. */
async function backendCall<T>(call: () => Promise<T>, what: string, config: AwsConfig): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ShardlineError || (error as Error).name === 'AbortError') throw error;
    const wrapped = backendError(error, what, config);
    // A Kinesis shard or stream vanishing mid-call is not the table missing.
    throw wrapped.code === 'STREAM_NOT_FOUND'
      ? new BackendError('BACKEND_FAILED', wrapped.message, { cause: error })
      : wrapped;
  }
}

/** One lease as `--json` prints it: absent values are null, every field always there. */
export function leaseJson(status: LeaseStatus): Record<string, unknown> {
  const l = status.lease;
  return {
    shardId: l.leaseKey,
    owner: l.leaseOwner ?? null,
    leaseCounter: l.leaseCounter,
    checkpoint: l.checkpoint,
    checkpointSubSequenceNumber: l.checkpointSubSequenceNumber,
    checkpointOwner: l.checkpointOwner ?? null,
    ownerSwitchesSinceCheckpoint: l.ownerSwitchesSinceCheckpoint,
    parentShardIds: l.parentShardIds,
    childShardIds: l.childShardIds,
    lag: status.lag ?? null,
  };
}

/** The leases as a table, one line each. */
export function formatLeases(
  table: string,
  leases: readonly LeaseStatus[],
  withLag: boolean,
): string {
  const rows = leases.map((s) => [
    s.lease.leaseKey,
    s.lease.leaseOwner ?? '-',
    String(s.lease.leaseCounter),
    formatPosition(s.lease),
    s.lease.parentShardIds.join(',') || '-',
    s.lease.childShardIds.join(',') || '-',
    ...(withLag ? [formatLag(s.lag)] : []),
  ]);
  const header = ['shard', 'owner', 'counter', 'checkpoint', 'parents', 'children'];
  if (withLag) header.push('lag');
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const owned = leases.filter((s) => s.lease.leaseOwner !== undefined).length;
  return (
    `lease table ${table}: ${leases.length} lease(s), ${owned} owned\n` +
    [header, ...rows].map(line).join('\n') +
    '\n'
  );
}

function formatLag(lag: ShardLag | undefined): string {
  if (!lag) return '-';
  if (!lag.available) return `unknown (${lag.reason})`;
  if (!lag.pendingRecords) return 'caught up';
  return `${formatCount(lag.oldestUnprocessedAgeMillis)} ms (oldest unprocessed record)`;
}

function rewindJson(result: RewindResult): Record<string, unknown> {
  return {
    table: result.tableName,
    dryRun: result.dryRun,
    forced: result.forced,
    watchedMillis: result.watchedMillis,
    changes: result.changes.map((c) => ({
      shardId: c.shardId,
      status: c.status,
      from: c.from,
      to: c.to,
      owner: c.owner ?? null,
      fenced: fenced(c),
      liveness: c.liveness,
      leaseCounter: c.leaseCounter,
      leaseCounterAfter: c.leaseCounterAfter ?? null,
    })),
    skipped: result.skipped,
  };
}

const fenced = (c: RewindChange): boolean => c.status === 'rewound' && c.owner !== undefined;

/** What the rewind changed (or would), one line per lease, and a summary line. */
export function formatRewind(result: RewindResult): string {
  const lines = result.changes.map((c) => {
    const move = `${c.shardId}  ${formatPosition(c.from)} -> ${formatPosition(c.to)}`;
    const counter = `leaseCounter ${c.leaseCounter} -> ${c.leaseCounterAfter ?? c.leaseCounter + 1}`;
    const who =
      c.owner === undefined
        ? 'free lease'
        : `${c.status === 'planned' ? 'would fence' : 'fenced'} ${c.owner} (${c.liveness === 'unknown' ? 'forced' : c.liveness})`;
    if (c.status === 'conflict')
      return `${move}  NOT REWOUND: the lease changed after it was read (owner then: ${c.owner ?? 'none'})`;
    return `${move}  ${who}, ${counter}`;
  });
  for (const s of result.skipped) lines.push(`${s.shardId}  left as is: ${s.reason}`);
  const done = result.changes.filter((c) => c.status !== 'conflict');
  const owners = new Set(done.filter((c) => c.owner !== undefined).map((c) => c.owner));
  lines.push(
    `${result.dryRun ? 'dry run: would rewind' : 'rewound'} ${done.length} lease(s) in table ${result.tableName}` +
      (owners.size > 0
        ? `; ${result.dryRun ? 'would fence' : 'fenced'} ${[...owners].join(', ')}`
        : ''),
  );
  return lines.join('\n') + '\n';
}
