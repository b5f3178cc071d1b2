/**
 * User records/s through the Lambda adapter, beside aws-kinesis-agg's deaggregateSync on the same
 * Lambda event in the same run, printed as ratios. Both sides start from the event Lambda hands
 * over (base64 data), verify the MD5 trailer and hand every user record to a no-op handler.
 *   pnpm build, then npx tsx packages/consumer/bench/lambda.bench.ts (benchmarks run the built packages, as users do)
 */
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { aggregate, compress, type UserRecord } from '@shardline/aggregation';
import {
  kinesisHandler,
  kinesisRecordHandler,
  type KinesisEventRecord,
  type KinesisStreamEvent,
} from '@shardline/consumer/lambda';
import { best } from '../../../scripts/bench-timing';

const require = createRequire(import.meta.url);
const agg = require('aws-kinesis-agg') as {
  deaggregateSync(
    record: { data: string; partitionKey: string; sequenceNumber: string },
    computeChecksums: boolean,
    done: (err: Error | null, records?: unknown[]) => void,
  ): void;
};

/** Lambda's default batch is 100 Kinesis records; KPL aggregates hold many user records each. */
const KINESIS_RECORDS = 100;
const ctx = {};

function event(
  userSize: number,
  perAggregate: number,
  wrap: (data: Uint8Array) => Uint8Array,
): KinesisStreamEvent {
  const Records: KinesisEventRecord[] = [];
  for (let i = 0; i < KINESIS_RECORDS; i++) {
    const users: UserRecord[] = Array.from({ length: perAggregate }, (_, j) => ({
      partitionKey: `pk-${j % 50}`,
      data: randomBytes(userSize),
    }));
    const out = aggregate(users, { maxRecords: perAggregate });
    if (out.length !== 1) throw new Error('benchmark aggregate did not fit in one record');
    const seq = `4965${String(i).padStart(52, '0')}`;
    Records.push({
      kinesis: {
        data: Buffer.from(wrap(out[0]!.data)).toString('base64'),
        partitionKey: out[0]!.partitionKey,
        sequenceNumber: seq,
        approximateArrivalTimestamp: 1_732_350_000,
      },
      eventID: `shardId-000000000000:${seq}`,
      eventSourceARN: 'arn:aws:kinesis:eu-west-1:123456789012:stream/bench',
    });
  }
  return { Records };
}

let sink = 0;
const perRecord = kinesisRecordHandler((r) => void (sink += r.data.length));
const batch = kinesisHandler((rs) => void (sink += rs.length));

function theirs(e: KinesisStreamEvent): void {
  for (const r of e.Records) {
    agg.deaggregateSync(r.kinesis, true, (err, rs) => {
      if (err) throw err;
      for (const u of rs as { data: string }[]) sink += u.data.length;
    });
  }
}

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`);
const rows: string[][] = [
  [
    'event',
    'user records',
    'shardline per-record rec/s',
    'shardline batch rec/s',
    'aws-kinesis-agg rec/s',
    'per-record / agg',
    'batch / agg',
  ],
];
const RUNS = 7;

for (const [size, per] of [
  [100, 200],
  [1024, 50],
] as const) {
  const n = KINESIS_RECORDS * per;
  const e = event(size, per, (d) => d);
  const ours = await best(RUNS, () => perRecord(e, ctx));
  const oursBatch = await best(RUNS, () => batch(e, ctx));
  const them = await best(RUNS, () => theirs(e));
  rows.push([
    `${KINESIS_RECORDS} aggregates of ${per} × ${size} B`,
    String(n),
    fmt(n / ours),
    fmt(n / oursBatch),
    fmt(n / them),
    `${(them / ours).toFixed(2)}x`,
    `${(them / oursBatch).toFixed(2)}x`,
  ]);
}
for (const codec of ['gzip', 'snappy'] as const) {
  const per = 200;
  const n = KINESIS_RECORDS * per;
  const e = event(100, per, (d) => compress(d, codec));
  const ours = await best(RUNS, () => perRecord(e, ctx));
  const oursBatch = await best(RUNS, () => batch(e, ctx));
  rows.push([
    `${codec}-compressed aggregates, ${per} × 100 B`,
    String(n),
    fmt(n / ours),
    fmt(n / oursBatch),
    'n/a (no envelope support)',
    '',
    '',
  ]);
}

const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
console.log('Lambda adapter: user records/s, best of', RUNS, 'runs (checksums on both sides)');
for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
if (sink < 0) console.log(sink);
