// The benchmark's Kinesis stub in its own process, so the client under test has a core to itself
// (how the baseline was measured: "the client process saturates a core").
import { FakeKinesis } from '@shardline/fake-kinesis';

const fake = await FakeKinesis.start({ discard: true, ...(process.env.STUB_LIMITS === '1' ? { shardLimits: {} } : {}) });
fake.createStream('bench', Number(process.env.STUB_SHARDS ?? 4));
process.stdout.write(`${fake.endpoint}\n`);
process.on('message', (m) => {
  if (m === 'stop') void fake.close().then(() => process.exit(0));
});
