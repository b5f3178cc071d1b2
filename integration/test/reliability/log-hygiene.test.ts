import { Writable } from 'node:stream';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { Consumer } from '@shardline/consumer';
import { FakeKinesis } from '@shardline/fake-kinesis';
import { Producer } from '@shardline/producer';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoDBClient, uniqueName, waitFor } from '../../src/backend';
import { idOf, tally } from '../../src/faults/count';
import { scenario } from '../../src/faults/report';

// Scenario 8: at debug level, through retries, throttles, malformed answers and poison records,
// the logs never carry a credential or a record's payload.

const ACCESS_KEY = 'AKIASHARDLINELOGTEST1';
const SECRET_KEY = 'shardline/secret+key/MUST-NOT-APPEAR-0123456789';
const MARKER = 'PAYLOAD-SECRET-7f3a9c';

function captured(): { logger: pino.Logger; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), text: () => chunks.join('') };
}

describe('scenario 8: logs hold no credentials and no payloads', () => {
  let fake: FakeKinesis;
  beforeAll(async () => {
    fake = await FakeKinesis.start({ seed: 8 });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('debug logs of a producer and a consumer through faults contain no secret, no key and no payload', async () => {
    const streamName = uniqueName('log-hygiene');
    fake.createStream(streamName, 2);
    const client = () =>
      new KinesisClient({
        region: fake.region,
        endpoint: fake.endpoint,
        credentials: {
          accessKeyId: ACCESS_KEY,
          secretAccessKey: SECRET_KEY,
          sessionToken: `${SECRET_KEY}-token`,
        },
        maxAttempts: 1,
        requestHandler: new NodeHttpHandler(),
      });
    const producerLog = captured();
    const consumerLog = captured();
    const faults = [
      fake.inject({ kind: 'throttle', operation: 'PutRecords', probability: 0.2 }),
      fake.inject({ kind: 'malformed', operation: 'PutRecords', probability: 0.1 }),
      fake.inject({ kind: 'partial', operation: 'PutRecords', probability: 0.3 }),
      fake.inject({ kind: 'expired-iterator', operation: 'GetRecords', times: 2 }),
    ];
    const ids = Array.from({ length: 400 }, (_, i) => `s8-${i}`);
    const received = new Map<string, number>();
    const kinesis = client();
    const producer = new Producer({
      streamName,
      kinesisClient: kinesis,
      logger: producerLog.logger,
      recordMaxBufferedTime: 5,
      collectionMaxCount: 2,
      aggregationMaxCount: 10,
      retry: { minTimeout: 5, maxTimeout: 50, retries: 200 },
    });
    const dynamo = dynamoDBClient();
    const consumerKinesis = client();
    const consumer = new Consumer({
      streamName,
      applicationName: uniqueName('log-app'),
      kinesisClient: consumerKinesis,
      dynamoDBClient: dynamo,
      initialPosition: 'TRIM_HORIZON',
      idleTimeBetweenReadsMillis: 100,
      failoverTimeMillis: 3000,
      logger: consumerLog.logger,
      processor: {
        processRecords(batch) {
          for (const r of batch.records)
            received.set(idOf(r.data), (received.get(idOf(r.data)) ?? 0) + 1);
        },
      },
    });
    await scenario(
      '8. debug logs: no credentials, no payloads',
      () => ({
        ...tally(ids, received),
        faultsInjected: faults.reduce((n, f) => n + f.applied, 0),
      }),
      async () => {
        try {
          await Promise.all(
            ids.map((id, i) =>
              producer.put({ partitionKey: `k${i % 9}`, data: `${id}|${MARKER}` }),
            ),
          );
          // A poison record carrying the marker: its bytes must not reach the log either.
          await kinesis
            .send(
              new PutRecordsCommand({
                StreamName: streamName,
                Records: [
                  {
                    PartitionKey: 'bad',
                    Data: Buffer.concat([
                      Buffer.from([0xf3, 0x89, 0x9a, 0xc2]),
                      Buffer.from(MARKER),
                    ]),
                  },
                ],
              }),
            )
            .catch(() => undefined);
          await consumer.start();
          await waitFor(() => ids.every((id) => received.has(id)), {
            timeoutMs: 60_000,
            message: 'consumer read every record',
          });
        } finally {
          await consumer.stop();
          await producer.close();
          kinesis.destroy();
          consumerKinesis.destroy();
          dynamo.destroy();
        }
        const logs = producerLog.text() + consumerLog.text();
        // The logs are not empty: debug lines were written, so the absence below means something.
        expect(producerLog.text().split('\n').length).toBeGreaterThan(5);
        expect(consumerLog.text().split('\n').length).toBeGreaterThan(5);
        expect(faults.reduce((n, f) => n + f.applied, 0)).toBeGreaterThan(0);
        for (const secret of [
          ACCESS_KEY,
          SECRET_KEY,
          MARKER,
          Buffer.from(MARKER).toString('base64').slice(0, 16),
          'Authorization',
          'X-Amz-Security-Token',
        ]) {
          expect(logs.includes(secret), `logs contain ${secret}`).toBe(false);
        }
      },
    );
  });
});
