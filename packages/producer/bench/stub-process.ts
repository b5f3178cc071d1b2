// The benchmark's Kinesis stub in its own process: the client under test has a core to itself
// (the CPU path), and the memory the client holds is not mixed with the stub's (the memory path).
// Messages: 'stall' holds every PutRecords unanswered, 'release' answers them, 'stop' exits.
import { FakeKinesis } from '@shardline/fake-kinesis';

const fake = await FakeKinesis.start({
  discard: true,
  ...(process.env.STUB_LIMITS === '1' ? { shardLimits: {} } : {}),
});
fake.createStream('bench', Number(process.env.STUB_SHARDS ?? 4));
process.stdout.write(`${fake.endpoint}\n`);
process.on('message', (m) => {
  if (m === 'stop') void fake.close().then(() => process.exit(0));
  if (m === 'stall') {
    fake.inject({ operation: 'PutRecords', kind: 'stall' });
    process.send!('stalled');
  }
  if (m === 'release') {
    fake.clearFaults();
    fake.release();
    process.send!('released');
  }
});
