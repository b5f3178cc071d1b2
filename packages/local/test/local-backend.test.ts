import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListShardsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKinesisClient, startLocalBackend, type LocalBackend } from '../src/index';

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

describe('startLocalBackend', () => {
  let backend: LocalBackend;
  beforeAll(async () => {
    backend = await startLocalBackend({ streams: [{ name: 'local-test', shards: 3 }] });
  }, 90_000);
  afterAll(() => backend?.stop());

  it('serves Kinesis with the streams asked for, and DynamoDB', async () => {
    const kinesis = createKinesisClient({
      endpoint: backend.kinesisEndpoint,
      region: backend.region,
      credentials: backend.credentials,
    });
    const shards = await kinesis.send(new ListShardsCommand({ StreamName: 'local-test' }));
    expect(shards.Shards).toHaveLength(3);
    kinesis.destroy();
    const dynamo = new DynamoDBClient({
      endpoint: backend.dynamodbEndpoint,
      region: backend.region,
      credentials: backend.credentials,
    });
    expect((await dynamo.send(new ListTablesCommand({}))).TableNames).toEqual([]);
    dynamo.destroy();
  });

  it('gives ready-to-paste environment variables', () => {
    expect(backend.env()).toMatchObject({
      AWS_REGION: 'us-east-1',
      KINESIS_ENDPOINT: backend.kinesisEndpoint,
      DYNAMODB_ENDPOINT: backend.dynamodbEndpoint,
    });
  });

  it('stops everything and frees the ports', async () => {
    const other = await startLocalBackend({ dynamodb: false });
    const port = Number(new URL(other.kinesisEndpoint).port);
    expect(await portOpen(port)).toBe(true);
    await other.stop();
    await other.stop(); // idempotent
    expect(await portOpen(port)).toBe(false);
  }, 90_000);

  it('takes kinesis-local down with its parent, even on kill -9', async () => {
    const script = `
      import { startLocalBackend } from '@shardline/local';
      const b = await startLocalBackend({ dynamodb: false });
      process.stdout.write(new URL(b.kinesisEndpoint).port + '\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: new URL('..', import.meta.url).pathname,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      child.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
    });
    expect(await portOpen(port)).toBe(true);
    child.kill('SIGKILL');
    const deadline = Date.now() + 20_000;
    while ((await portOpen(port)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(await portOpen(port)).toBe(false);
  }, 90_000);
});
