/** What a per-key order check found in a stream. */
export interface KeyOrderReport {
  /** Records that came after a record of the same key put later than them. */
  outOfOrder: number;
  /** Extra copies of a record (written again after an ambiguous failure, such as a timeout). */
  duplicates: number;
  /** The records that had copies, once each. */
  duplicated: { key: string; index: number }[];
  /** Each key's distinct put indices, in the order first seen in the stream. */
  perKey: Map<string, number[]>;
}

/**
 * Checks per-key order in a stream read in order (by shard, parent before child, then sequence
 * and sub-sequence number), where each record carries its key and its index in its key's `put`
 * order. A copy written again after an ambiguous failure repeats what came before it, so order is
 * judged on each record's first copy, and later copies count as duplicates.
 */
export function checkKeyOrder(records: Iterable<{ key: string; index: number }>): KeyOrderReport {
  const perKey = new Map<string, number[]>();
  const state = new Map<string, { seen: Set<number>; highest: number }>();
  let outOfOrder = 0;
  let duplicates = 0;
  const duplicated: { key: string; index: number }[] = [];
  const counted = new Set<string>();
  for (const { key, index } of records) {
    let s = state.get(key);
    if (!s) {
      state.set(key, (s = { seen: new Set(), highest: -1 }));
      perKey.set(key, []);
    }
    if (s.seen.has(index)) {
      duplicates++;
      const id = `${key}\u0000${index}`;
      if (!counted.has(id)) duplicated.push({ key, index });
      counted.add(id);
      continue;
    }
    s.seen.add(index);
    perKey.get(key)!.push(index);
    if (index < s.highest) outOfOrder++;
    else s.highest = index;
  }
  return { outOfOrder, duplicates, duplicated, perKey };
}
