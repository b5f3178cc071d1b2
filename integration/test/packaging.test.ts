import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Runs plain Node (no tsx, no "source" condition) from this workspace package, so resolution goes
// through each package's exports map to its built dist: what a service that installed it gets.
const cwd = fileURLToPath(new URL('..', import.meta.url));
const node = (args: string[]) =>
  execFileSync(process.execPath, args, { cwd, encoding: 'utf8' }).trim();

describe('published packages', () => {
  it('can be required from CommonJS on Node 20', () => {
    const out = node([
      '-e',
      `const a = require('@shardline/aggregation'); const p = require('@shardline/producer'); const c = require('@shardline/consumer'); const l = require('@shardline/consumer/lambda');
       console.log([typeof a.aggregate, typeof a.deaggregate, typeof a.compress, typeof p.Producer, typeof c.Consumer, typeof l.kinesisHandler].join(','))`,
    ]);
    expect(out).toBe('function,function,function,function,function,function');
  });

  it('can be imported as ES modules', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `import { aggregate, decompress } from '@shardline/aggregation'; import { Producer } from '@shardline/producer'; import { Consumer } from '@shardline/consumer'; import { kinesisHandler } from '@shardline/consumer/lambda';
       console.log([typeof aggregate, typeof decompress, typeof Producer, typeof Consumer, typeof kinesisHandler].join(','))`,
    ]);
    expect(out).toBe('function,function,function,function,function');
  });

  it('@shardline/telemetry loads from CommonJS and as an ES module, without OpenTelemetry installed', () => {
    const cjs = node([
      '-e',
      `const t = require('@shardline/telemetry'); console.log([typeof t.EmfMetrics, typeof t.otelProducerMetrics].join(','))`,
    ]);
    expect(cjs).toBe('function,function');
    const esm = node([
      '--input-type=module',
      '-e',
      `import { EmfMetrics, otelConsumerMetrics } from '@shardline/telemetry'; console.log([typeof EmfMetrics, typeof otelConsumerMetrics].join(','))`,
    ]);
    expect(esm).toBe('function,function');
  });

  it('the producer and the consumer load without pino when no logger is given (it is CommonJS, and costs a cold start)', () => {
    const out = node([
      '-e',
      `const { Producer } = require('@shardline/producer'); require('@shardline/consumer'); require('@shardline/consumer/lambda');
       const p = new Producer({ streamName: 's', region: 'eu-west-1' }); p.close();
       console.log(Object.keys(require.cache).filter((k) => /[\\/]pino[\\/]/.test(k)).length)`,
    ]);
    expect(out).toBe('0');
  });

  it('round-trips through the built CommonJS aggregation package', () => {
    const out = node([
      '-e',
      `const { aggregate, deaggregate, compress, decompress } = require('@shardline/aggregation');
       const [r] = aggregate([{ partitionKey: 'a', data: Buffer.from('x') }, { partitionKey: 'b', data: Buffer.from('y') }]);
       const back = deaggregate({ data: decompress(compress(r.data, 'snappy')), partitionKey: r.partitionKey, sequenceNumber: '1' });
       console.log(back.map((u) => u.partitionKey + '=' + Buffer.from(u.data).toString()).join(','))`,
    ]);
    expect(out).toBe('a=x,b=y');
  });
});
