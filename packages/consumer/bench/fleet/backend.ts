// The fleet bench's backend in child processes, so the bench process's CPU time (and heap) is the
// consumers' and the SDK's alone: FLEET_BACKEND=kinesis runs the fake Kinesis, =dynamodb dynalite
// (each its own event loop: dynalite's latency is then not queued behind GetRecords). Prints one
// JSON line with the endpoint(s), then answers IPC messages (the stream ones on the Kinesis side):
//   { op: 'stream', name, shards }           creates a stream, replies { ok: true }
//   { op: 'feed', name, perShardPerSecond }   puts that many 100-byte records per shard per second
//   { op: 'unfeed' }                          stops the feed, replies { ok: true, records }
//   'stop'                                    exits
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { FakeKinesis } from '@shardline/fake-kinesis';
import { startLocalBackend } from '@shardline/local';

const role = process.env.FLEET_BACKEND;
// h2c beside HTTP/1.1: fan-out subscriptions share one HTTP/2 session, as against the service.
const fake = role === 'dynamodb' ? undefined : await FakeKinesis.start({ http2: true });
const local = role === 'kinesis' ? undefined : await startLocalBackend({ kinesis: false });
const kinesis = fake?.client();
let feeding: NodeJS.Timeout | undefined;
let fed = 0;

type Message =
  | 'stop'
  | { op: 'stream'; name: string; shards: number }
  | { op: 'feed'; name: string; perShardPerSecond: number }
  | { op: 'unfeed' };

process.on('message', (m: Message) => {
  if (m === 'stop') {
    if (feeding) clearInterval(feeding);
    kinesis?.destroy();
    void Promise.all([local?.stop(), fake?.close()]).then(() => process.exit(0));
    return;
  }
  if (m.op === 'stream') {
    fake!.createStream(m.name, m.shards);
    process.send!({ ok: true });
  } else if (m.op === 'feed') {
    // One record per shard per tick, routed by explicit hash key to the shard's first hash key.
    const keys = fake!.shards(m.name).map((s) => s.start.toString());
    const tick = 1000 / m.perShardPerSecond;
    feeding = setInterval(() => {
      for (let i = 0; i < keys.length; i += 500) {
        const slice = keys.slice(i, i + 500);
        void kinesis!
          .send(
            new PutRecordsCommand({
              StreamName: m.name,
              Records: slice.map((key, j) => ({
                PartitionKey: `k${i + j}`,
                ExplicitHashKey: key,
                Data: Buffer.alloc(100, 97),
              })),
            }),
          )
          .then(
            () => (fed += slice.length),
            () => {},
          );
      }
    }, tick);
    process.send!({ ok: true });
  } else if (m.op === 'unfeed') {
    if (feeding) clearInterval(feeding);
    feeding = undefined;
    process.send!({ ok: true, records: fed });
  }
});

process.stdout.write(
  `${JSON.stringify({
    kinesisEndpoint: fake?.endpoint,
    kinesisHttp2Endpoint: fake?.http2Endpoint,
    dynamodbEndpoint: local?.dynamodbEndpoint,
    region: local?.region,
    credentials: local?.credentials,
  })}\n`,
);

// The bench process died (a crash, a kill): go with it instead of lingering.
process.on('disconnect', () => process.exit(0));
