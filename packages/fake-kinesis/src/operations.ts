import type { Backend, PartialFailure } from './backend';
import { describeStream, describeStreamSummary, listShards, listStreams } from './describe';
import { putRecord, putRecords } from './put';
import { getRecords, getShardIterator } from './read';
import { mergeShards, splitShard } from './resharding';
import { ServiceError } from './service-error';
import {
  deregisterStreamConsumer,
  describeStreamConsumer,
  listStreamConsumers,
  registerStreamConsumer,
} from './stream-consumers';
import type { StreamState } from './streams';

type Operation = (
  backend: Backend,
  input: Record<string, unknown>,
  partial: PartialFailure | undefined,
) => string;

/** An operation that changes the stream the request names and answers an empty object. */
function changing(
  act: (stream: StreamState, input: Record<string, unknown>) => unknown,
): Operation {
  return (backend, input) => {
    act(backend.streams.of(input), input);
    return '{}';
  };
}

/** The API the fake answers, by the operation name in `X-Amz-Target`; each returns the JSON body. */
const OPERATIONS = new Map<string, Operation>([
  ['PutRecords', putRecords],
  ['PutRecord', putRecord],
  ['ListShards', listShards],
  [
    'CreateStream',
    (backend, input) => {
      backend.streams.create(
        String(input.StreamName),
        Number(input.ShardCount ?? 4),
        (input.StreamModeDetails as { StreamMode?: 'ON_DEMAND' } | undefined)?.StreamMode ??
          'PROVISIONED',
      );
      return '{}';
    },
  ],
  ['DescribeStreamSummary', describeStreamSummary],
  ['DescribeStream', describeStream],
  ['ListStreams', listStreams],
  ['GetShardIterator', getShardIterator],
  ['GetRecords', getRecords],
  ['RegisterStreamConsumer', registerStreamConsumer],
  ['DescribeStreamConsumer', describeStreamConsumer],
  ['DeregisterStreamConsumer', deregisterStreamConsumer],
  ['ListStreamConsumers', listStreamConsumers],
  [
    'SplitShard',
    changing((stream, i) =>
      splitShard(stream, String(i.ShardToSplit), String(i.NewStartingHashKey)),
    ),
  ],
  [
    'MergeShards',
    changing((stream, i) =>
      mergeShards(stream, String(i.ShardToMerge), String(i.AdjacentShardToMerge)),
    ),
  ],
]);

/** Runs one operation on the fake's state and returns its JSON answer; errors are thrown. */
export function operate(
  backend: Backend,
  operation: string,
  input: Record<string, unknown>,
  partial?: PartialFailure,
): string {
  const run = OPERATIONS.get(operation);
  if (!run)
    throw new ServiceError(
      'UnknownOperationException',
      `operation ${operation} is not supported by the fake`,
    );
  return run(backend, input, partial);
}
