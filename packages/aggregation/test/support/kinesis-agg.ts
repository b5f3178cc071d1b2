// A typed, promise-shaped view of aws-kinesis-agg (the official Node module), the interop reference.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const agg = require('aws-kinesis-agg') as {
  aggregate(
    records: unknown[],
    onEncoded: (
      record: { partitionKey: string; data: Buffer; ExplicitHashKey?: string },
      done: (err?: Error) => void,
    ) => void,
    afterAll: () => void,
    onError: (err: Error) => void,
  ): void;
  deaggregateSync(
    record: {
      data: string;
      partitionKey: string;
      sequenceNumber: string;
      explicitPartitionKey?: string;
    },
    computeChecksums: boolean,
    done: (
      err: Error | null | undefined,
      records?: {
        partitionKey: string;
        explicitPartitionKey?: string;
        data: string;
        subSequenceNumber: number;
      }[],
    ) => void,
  ): void;
};

export interface TheirEncoded {
  partitionKey: string;
  data: Buffer;
  explicitHashKey?: string;
}

/** Aggregates with aws-kinesis-agg; resolves with every encoded record it emitted. */
export function theirAggregate(
  records: { partitionKey: string; data: Uint8Array; explicitHashKey?: string }[],
): Promise<TheirEncoded[]> {
  return new Promise((resolve, reject) => {
    const out: TheirEncoded[] = [];
    agg.aggregate(
      records.map((r) => ({
        partitionKey: r.partitionKey,
        data: Buffer.from(r.data),
        ...(r.explicitHashKey ? { explicitHashKey: r.explicitHashKey } : {}),
      })),
      (encoded, done) => {
        out.push({
          partitionKey: encoded.partitionKey,
          data: encoded.data,
          ...(encoded.ExplicitHashKey ? { explicitHashKey: encoded.ExplicitHashKey } : {}),
        });
        done();
      },
      () => resolve(out),
      (err) => reject(err),
    );
  });
}

/** De-aggregates with aws-kinesis-agg, checksums on. */
export function theirDeaggregate(data: Uint8Array, partitionKey: string, sequenceNumber: string) {
  let result: {
    partitionKey: string;
    explicitHashKey?: string;
    data: Buffer;
    subSequenceNumber: number;
  }[] = [];
  let failure: Error | undefined;
  agg.deaggregateSync(
    { data: Buffer.from(data).toString('base64'), partitionKey, sequenceNumber },
    true,
    (err, records) => {
      if (err) failure = err;
      else
        result = (records ?? []).map((r) => ({
          partitionKey: r.partitionKey,
          ...(r.explicitPartitionKey ? { explicitHashKey: r.explicitPartitionKey } : {}),
          data: Buffer.from(r.data, 'base64'),
          subSequenceNumber: r.subSequenceNumber,
        }));
    },
  );
  if (failure) throw failure;
  return result;
}
