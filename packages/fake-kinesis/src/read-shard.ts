import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';

/**
 * Every record of a shard, read with GetRecords from TRIM_HORIZON until a read returns nothing.
 * For benchmarks and tests that fill a stream first and then need its stored records; a stream
 * still being written to needs a reader that waits, not this.
 */
export async function readShardRecords(
  client: KinesisClient,
  streamName: string,
  shardId: string,
): Promise<_Record[]> {
  const records: _Record[] = [];
  let iterator = (
    await client.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    )
  ).ShardIterator;
  while (iterator) {
    const out = await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
    if ((out.Records ?? []).length === 0) break;
    records.push(...out.Records!);
    iterator = out.NextShardIterator;
  }
  return records;
}
