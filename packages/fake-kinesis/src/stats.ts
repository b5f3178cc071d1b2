/** Running counts, for assertions and benchmarks. */
export interface FakeStats {
  /** Requests seen, by operation. */
  calls: Record<string, number>;
  /** PutRecord(s) entries stored (or, with `discard`, accepted). */
  entriesAccepted: number;
  /** PutRecords entries that failed, by error code (shard limits or the `partial` fault). */
  entriesFailed: Record<string, number>;
  /** Fault rules applied so far. */
  faultsInjected: number;
  /** Bytes accepted, data + partition key. */
  bytesAccepted: number;
}

/** Counts of a fake that has seen nothing yet. */
export function emptyStats(): FakeStats {
  return { calls: {}, entriesAccepted: 0, entriesFailed: {}, faultsInjected: 0, bytesAccepted: 0 };
}
