/**
 * The KCL's multi-stream identity of a stream and its leases (pure). Followed from the KCL
 * (amazon-kinesis-client, `common/StreamIdentifier.java`, `leases/MultiStreamLease.java`):
 * - a stream is `accountId:streamName:creationEpoch` (`StreamIdentifier.serialize`; parsed with
 *   the KCL's `STREAM_IDENTIFIER_PATTERN`, `([0-9]+):([^:]+):([0-9]+)`, epoch > 0);
 * - a lease key is `<stream identifier>:<shardId>` (`MultiStreamLease.getLeaseKey`);
 * - a stream given by ARN takes its account from the ARN (`multiStreamInstance(Arn, epoch)`).
 */

/** A stream as the KCL names it in a multi-stream lease table. */
export interface StreamIdentifier {
  accountId: string;
  streamName: string;
  /** The stream's creation time in epoch seconds (`StreamCreationTimestamp`). */
  creationEpoch: number;
}

const IDENTIFIER = /^([0-9]+):([^:]+):([0-9]+)$/;
const LEASE_KEY = /^([0-9]+:[^:]+:[0-9]+):(.+)$/;
/** The KCL's `STREAM_ARN_PATTERN` (12-digit account; any partition). */
const STREAM_ARN = /^arn:aws[^:]*:kinesis:[-a-z0-9]+:([0-9]{12}):stream\/(.+)$/;

/** `accountId:streamName:creationEpoch`, as `StreamIdentifier.serialize()` writes it. */
export function serializeStreamIdentifier(id: StreamIdentifier): string {
  return `${id.accountId}:${id.streamName}:${id.creationEpoch}`;
}

/** The identifier a serialized one stands for, or undefined when it is not one (`multiStreamInstance`). */
export function parseStreamIdentifier(serialized: string): StreamIdentifier | undefined {
  const m = IDENTIFIER.exec(serialized);
  if (!m) return undefined;
  const creationEpoch = Number(m[3]);
  if (!Number.isSafeInteger(creationEpoch) || creationEpoch <= 0) return undefined;
  return { accountId: m[1]!, streamName: m[2]!, creationEpoch };
}

/** `MultiStreamLease.getLeaseKey`: the serialized stream identifier, a colon, the shard id. */
export function multiStreamLeaseKey(streamIdentifier: string, shardId: string): string {
  return `${streamIdentifier}:${shardId}`;
}

/** A multi-stream lease key split into its stream identifier and shard id; undefined for any other key. */
export function parseMultiStreamLeaseKey(
  leaseKey: string,
): { streamIdentifier: string; shardId: string } | undefined {
  const m = LEASE_KEY.exec(leaseKey);
  if (!m || !parseStreamIdentifier(m[1]!)) return undefined;
  return { streamIdentifier: m[1]!, shardId: m[2]! };
}

/** Account and stream name of a Kinesis stream ARN, or undefined when it is not one. */
export function parseStreamArn(arn: string): { accountId: string; streamName: string } | undefined {
  const m = STREAM_ARN.exec(arn);
  return m ? { accountId: m[1]!, streamName: m[2]! } : undefined;
}

/**
 * The identifier of a stream as `DescribeStreamSummary` describes it: the account from its ARN,
 * the creation epoch from `StreamCreationTimestamp` in whole seconds.
 */
export function streamIdentifierOf(streamArn: string, createdAt: Date): StreamIdentifier {
  const arn = parseStreamArn(streamArn);
  if (!arn) throw new Error(`not a Kinesis stream ARN: ${streamArn}`);
  return {
    accountId: arn.accountId,
    streamName: arn.streamName,
    creationEpoch: Math.floor(createdAt.getTime() / 1000),
  };
}
