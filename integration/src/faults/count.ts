import { deaggregate } from '@shardline/aggregation';

/** A Kinesis record as stored by the fake or read back from a stream. */
export interface StoredKinesisRecord {
  data: Uint8Array;
  partitionKey: string;
  sequenceNumber: string;
}

/**
 * How many times each user record id appears in Kinesis records (aggregates opened). The id is the
 * record's data up to the first `|` (the rest is padding), or all of it.
 */
export function countIds(records: Iterable<StoredKinesisRecord>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const record of records) {
    for (const user of deaggregate({
      data: record.data,
      partitionKey: record.partitionKey,
      sequenceNumber: record.sequenceNumber,
    })) {
      const id = idOf(user.data);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}

/** Sent, received (distinct), duplicates (extra copies) and lost, from the ids sent and the counts seen. */
export function tally(
  sent: readonly string[],
  seen: ReadonlyMap<string, number>,
): { sent: number; received: number; duplicates: number; lost: number } {
  let received = 0;
  let duplicates = 0;
  let lost = 0;
  for (const id of sent) {
    const n = seen.get(id) ?? 0;
    if (n === 0) lost++;
    else {
      received++;
      duplicates += n - 1;
    }
  }
  return { sent: sent.length, received, duplicates, lost };
}

/** A test record's id: its data up to the first `|`. */
export function idOf(data: Uint8Array): string {
  const text = Buffer.from(data).toString('utf8');
  const bar = text.indexOf('|');
  return bar < 0 ? text : text.slice(0, bar);
}
