/** A position in a shard: a sequence number and, inside an aggregate, a sub-sequence number. */
export interface ExtendedSequence {
  sequenceNumber: string;
  subSequenceNumber: number;
}

/** Sentinel checkpoints, as the KCL writes them. */
export type CheckpointSentinel = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP' | 'SHARD_END';

export const SENTINELS: ReadonlySet<string> = new Set([
  'TRIM_HORIZON',
  'LATEST',
  'AT_TIMESTAMP',
  'SHARD_END',
]);

export function isSentinel(checkpoint: string): checkpoint is CheckpointSentinel {
  return SENTINELS.has(checkpoint);
}

/** Orders two positions: sequence numbers are decimal strings up to 2^128; compare as integers. */
export function compareSequence(a: ExtendedSequence, b: ExtendedSequence): number {
  if (a.sequenceNumber !== b.sequenceNumber) {
    const x = BigInt(a.sequenceNumber);
    const y = BigInt(b.sequenceNumber);
    return x < y ? -1 : 1;
  }
  return a.subSequenceNumber - b.subSequenceNumber;
}

/** True for a Kinesis sequence number (a decimal integer). */
export function isSequenceNumber(value: string): boolean {
  return /^[0-9]{1,128}$/.test(value);
}
