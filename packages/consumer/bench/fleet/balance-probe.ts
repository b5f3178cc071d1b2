/**
 * How the lease table is split among workers, read with its own (unmetered) client: a fleet is
 * balanced when every lease is held with no hand-off pending and every worker holds its fair
 * share S / W within one lease (⌈S/W − 1⌉ … ⌊S/W + 1⌋).
 */
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface Split {
  leases: number;
  /** Leases per live worker id (workers holding none included). */
  counts: Map<string, number>;
  unowned: number;
  handoffs: number;
  items: Record<string, AttributeValue>[];
}

export async function readSplit(
  client: DynamoDBClient,
  table: string,
  workers: readonly string[],
): Promise<Split> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(
      new ScanCommand({ TableName: table, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  const counts = new Map(workers.map((w) => [w, 0]));
  let unowned = 0;
  let handoffs = 0;
  for (const item of items) {
    const owner = item.leaseOwner?.S;
    if (item.checkpointOwner?.S) handoffs++;
    if (owner === undefined) unowned++;
    else counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  return { leases: items.length, counts, unowned, handoffs, items };
}

export function isBalanced(split: Split, shards: number, workers: readonly string[]): boolean {
  if (split.leases < shards || split.unowned > 0 || split.handoffs > 0) return false;
  const fair = shards / workers.length;
  const low = Math.ceil(fair - 1);
  const high = Math.floor(fair + 1);
  for (const [owner, n] of split.counts) {
    // A lease still held by a worker outside the fleet (a killed one) is not balanced.
    if (!workers.includes(owner)) {
      if (n > 0) return false;
      continue;
    }
    if (n < low || n > high) return false;
  }
  return true;
}

/**
 * Probes every `everyMs` until balanced or `capMs` passed; resolves with the time from `since`
 * (ms) or undefined at the cap.
 */
export async function timeToBalance(opts: {
  client: DynamoDBClient;
  table: string;
  shards: number;
  workers: () => readonly string[];
  since: number;
  capMs: number;
  everyMs: number;
  trace?: (line: string) => void;
}): Promise<number | undefined> {
  let traced = 0;
  for (;;) {
    const now = Date.now();
    if (now - opts.since > opts.capMs) return undefined;
    const split = await readSplit(opts.client, opts.table, opts.workers()).catch(() => undefined);
    if (split && opts.trace && now - traced >= 5000) {
      traced = now;
      const counts = [...split.counts.values()].sort((a, b) => a - b);
      opts.trace(
        `+${now - opts.since} ms: held per worker ${counts.join(',')}; unowned ${split.unowned}, hand-offs ${split.handoffs}`,
      );
    }
    if (split && isBalanced(split, opts.shards, opts.workers())) return Date.now() - opts.since;
    await new Promise((resolve) => setTimeout(resolve, opts.everyMs));
  }
}
