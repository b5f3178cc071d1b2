// The backend for benchmarks that measure waiting, not CPU: fake Kinesis and dynalite in this
// process, with one client for each.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { FakeKinesis, fakeKinesisClient } from '@shardline/fake-kinesis';
import { startLocalBackend, type LocalBackend } from '@shardline/local';

/** A fake Kinesis and a local DynamoDB, with a client for each, and a way to end them all. */
export interface InProcessBackend {
  fake: FakeKinesis;
  local: LocalBackend;
  kinesisClient: KinesisClient;
  dynamoDBClient: DynamoDBClient;
  /** Destroys the clients, then stops both servers. */
  stop(): Promise<void>;
}

/** Starts a fake Kinesis and a local DynamoDB (no Kinesis of its own) in this process. */
export async function startInProcessBackend(): Promise<InProcessBackend> {
  const fake = await FakeKinesis.start();
  const local = await startLocalBackend({ kinesis: false });
  const kinesisClient = fakeKinesisClient(fake.endpoint, { region: local.region });
  const dynamoDBClient = new DynamoDBClient({
    endpoint: local.dynamodbEndpoint,
    region: local.region,
    credentials: { ...local.credentials },
  });
  return {
    fake,
    local,
    kinesisClient,
    dynamoDBClient,
    async stop() {
      kinesisClient.destroy();
      dynamoDBClient.destroy();
      await local.stop();
      await fake.close();
    },
  };
}
