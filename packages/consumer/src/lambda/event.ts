import { InvalidEventError } from './errors';
import type { KinesisEventRecord, KinesisStreamEvent } from './types';

/** The records of one shard, in the order Lambda delivered them. */
export interface ShardRecords {
  shardId: string;
  eventSourceARN: string;
  records: KinesisEventRecord[];
}

/**
 * The shard of an event record: the part of `eventID` before the colon. Lambda writes
 * `shardId-000000000000:<sequence number>`; an id without a colon is used whole.
 */
export function shardIdOf(eventID: string): string {
  const colon = eventID.indexOf(':');
  return colon < 0 ? eventID : eventID.slice(0, colon);
}

/**
 * Groups an event's records by stream and shard, keeping Lambda's order inside each shard and
 * the order in which shards first appear. Throws `InvalidEventError` for anything that is not a
 * Kinesis event, before any record is processed: a wrong trigger is a deployment bug, not data.
 */
export function groupByShard(event: KinesisStreamEvent): ShardRecords[] {
  if (event === null || typeof event !== 'object' || !Array.isArray(event.Records)) {
    throw new InvalidEventError(
      'the event has no Records array; is the function triggered by a Kinesis event source mapping?',
    );
  }
  const groups = new Map<string, ShardRecords>();
  event.Records.forEach((record, index) => {
    validate(record, index);
    const shardId = shardIdOf(record.eventID);
    const key = `${record.eventSourceARN}\u0000${shardId}`;
    let group = groups.get(key);
    if (!group) {
      group = { shardId, eventSourceARN: record.eventSourceARN, records: [] };
      groups.set(key, group);
    }
    group.records.push(record);
  });
  return [...groups.values()];
}

function validate(record: KinesisEventRecord, index: number): void {
  const where = `event record ${index}`;
  if (
    record === null ||
    typeof record !== 'object' ||
    record.kinesis === null ||
    typeof record.kinesis !== 'object'
  ) {
    throw new InvalidEventError(
      `${where} has no "kinesis" object; only Kinesis events are supported`,
    );
  }
  const k = record.kinesis;
  if (typeof k.sequenceNumber !== 'string' || k.sequenceNumber === '') {
    throw new InvalidEventError(`${where} has no kinesis.sequenceNumber`);
  }
  if (typeof k.data !== 'string')
    throw new InvalidEventError(`${where} (${k.sequenceNumber}) has no base64 kinesis.data`);
  if (typeof k.partitionKey !== 'string')
    throw new InvalidEventError(`${where} (${k.sequenceNumber}) has no kinesis.partitionKey`);
  if (typeof record.eventID !== 'string' || record.eventID === '') {
    throw new InvalidEventError(
      `${where} (${k.sequenceNumber}) has no eventID, so its shard is unknown`,
    );
  }
  if (typeof record.eventSourceARN !== 'string') {
    throw new InvalidEventError(`${where} (${k.sequenceNumber}) has no eventSourceARN`);
  }
}
