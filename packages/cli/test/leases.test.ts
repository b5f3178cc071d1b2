import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { startLocalBackend, type LocalBackend } from '@shardline/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, parseCli, type LeasesArgs } from '../src/index';
import { formatRewind } from '../src/commands/leases';
import { run, usage as usageError } from './support/cli';

const usage = (argv: string[]): string => usageError(argv).message;

describe('parseCli: leases', () => {
  it('lists by default; rewind takes a target, shards, sequences, force, dry run, failover time', () => {
    expect(parseCli(['leases', '--app', 'billing'])).toMatchObject({
      command: 'leases',
      action: 'list',
      app: 'billing',
      stream: undefined,
    });
    expect(parseCli(['leases', 'list', '--app', 'billing', '--stream', 'events'])).toMatchObject({
      action: 'list',
      stream: 'events',
    });
    const rewind = parseCli([
      'leases',
      'rewind',
      '--app',
      'billing',
      '--to',
      'trim-horizon',
      '--shard',
      'shardId-000000000001',
      '--sequence',
      'shardId-000000000002=4959/3',
      '--sequence',
      'shardId-000000000003=4960/-1',
      '--force',
      '--dry-run',
      '--failover-time',
      '20s',
    ]) as LeasesArgs;
    expect(rewind).toMatchObject({
      action: 'rewind',
      to: 'TRIM_HORIZON',
      shards: ['shardId-000000000001'],
      sequences: {
        'shardId-000000000002': { sequenceNumber: '4959', subSequenceNumber: 3 },
        'shardId-000000000003': { sequenceNumber: '4960', subSequenceNumber: -1 },
      },
      force: true,
      dryRun: true,
      failoverTimeMs: 20_000,
    });
    expect(
      (parseCli(['leases', 'rewind', '--app', 'billing', '--to', 'latest']) as LeasesArgs)
        .failoverTimeMs,
    ).toBe(10_000);
  });

  it('refuses what cannot be meant', () => {
    expect(usage(['leases'])).toContain('--app is required');
    expect(usage(['leases', '--app', 'billing', '--force'])).toContain("'shardline leases rewind'");
    expect(usage(['leases', 'rewind', '--app', 'billing'])).toContain('give --to or --sequence');
    expect(
      usage(['leases', 'rewind', '--app', 'billing', '--to', '2026-01-01T00:00:00Z']),
    ).toContain('give --stream');
    expect(usage(['leases', 'rewind', '--app', 'billing', '--to', 'soon'])).toContain(
      '--to must be trim-horizon',
    );
    expect(usage(['leases', 'rewind', '--app', 'billing', '--sequence', 's1=abc'])).toContain(
      '--sequence must be SHARD=SEQUENCE',
    );
    expect(usage(['leases', 'rewind', '--app', 'billing', '--sequence', 's1=1/-2'])).toContain(
      '--sequence must be',
    );
  });
});

describe('formatRewind', () => {
  it('says which leases were not rewound, and counts only those that were', () => {
    const change = {
      from: { checkpoint: '100', checkpointSubSequenceNumber: 0 },
      to: { checkpoint: 'TRIM_HORIZON', checkpointSubSequenceNumber: 0 },
      liveness: 'expired' as const,
      leaseCounter: 5,
    };
    const text = formatRewind({
      tableName: 't',
      dryRun: false,
      forced: false,
      watchedMillis: 10_500,
      changes: [
        { ...change, shardId: 's1', owner: 'w1', status: 'conflict' },
        { ...change, shardId: 's2', owner: 'w2', status: 'rewound', leaseCounterAfter: 6 },
      ],
      skipped: [{ shardId: 's3', reason: 'already there' }],
    });
    expect(text.split('\n')).toEqual([
      's1  100/0 -> TRIM_HORIZON  NOT REWOUND: the lease changed after it was read (owner then: w1)',
      's2  100/0 -> TRIM_HORIZON  fenced w2 (expired), leaseCounter 5 -> 6',
      's3  left as is: already there',
      'rewound 1 lease(s) in table t; fenced w2',
      '',
    ]);
  });
});

describe('shardline leases against dynalite', () => {
  let backend: LocalBackend;
  let dynamo: DynamoDBClient;
  let env: NodeJS.ProcessEnv;
  let n = 0;
  beforeAll(async () => {
    backend = await startLocalBackend({ kinesis: false });
    dynamo = new DynamoDBClient({
      endpoint: backend.dynamodbEndpoint,
      region: backend.region,
      credentials: { ...backend.credentials },
    });
    env = {
      AWS_REGION: backend.region,
      AWS_ACCESS_KEY_ID: backend.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: backend.credentials.secretAccessKey,
      DYNAMODB_ENDPOINT: backend.dynamodbEndpoint,
    };
  });
  afterAll(async () => {
    dynamo?.destroy();
    await backend?.stop();
  });

  const cli = (argv: string[]) => run(argv, { ...env });
  const rewind = (name: string, ...flags: string[]) =>
    cli(['leases', 'rewind', '--app', name, ...flags]);

  /** A lease table as the consumer (or the KCL) leaves it: s1 owned by worker-a, s2 free. */
  async function table(): Promise<string> {
    const name = `cli-leases-${++n}`;
    await dynamo.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const lease = (key: string, extra: Record<string, { S: string } | { N: string }>) =>
      dynamo.send(
        new PutItemCommand({
          TableName: name,
          Item: {
            leaseKey: { S: key },
            checkpointSubSequenceNumber: { N: '0' },
            ownerSwitchesSinceCheckpoint: { N: '0' },
            ...extra,
          },
        }),
      );
    await lease('s1', {
      leaseOwner: { S: 'worker-a' },
      leaseCounter: { N: '5' },
      checkpoint: { S: '100' },
    });
    await lease('s2', { leaseCounter: { N: '2' }, checkpoint: { S: '200' } });
    return name;
  }

  const item = async (name: string, key: string) =>
    (await dynamo.send(new GetItemCommand({ TableName: name, Key: { leaseKey: { S: key } } })))
      .Item!;

  it('lists leases as a table and as JSON', async () => {
    const name = await table();
    const human = await cli(['leases', '--app', name]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`lease table ${name}: 2 lease(s), 1 owned`);
    expect(human.stdout).toMatch(/s1\s+worker-a\s+5\s+100\/0/);
    const json = await cli(['leases', '--app', name, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      table: name,
      stream: null,
      leases: [
        { shardId: 's1', owner: 'worker-a', leaseCounter: 5, checkpoint: '100', lag: null },
        { shardId: 's2', owner: null, leaseCounter: 2, checkpoint: '200' },
      ],
    });
    const missing = await cli(['leases', '--app', 'no-such-app']);
    expect(missing.code).toBe(EXIT.failure);
    expect(missing.stderr).toMatch(
      /^shardline: lease table no-such-app not found.*\[LEASE_TABLE_NOT_FOUND\]\n$/,
    );
  });

  it('rewind: refused (exit 1) while the owner renews; forced, it fences the owner and prints what changed', async () => {
    const name = await table();
    // A live worker: renews s1 every 50 ms, far inside the 400 ms failover time given.
    const renewer = setInterval(() => {
      void dynamo
        .send(
          new UpdateItemCommand({
            TableName: name,
            Key: { leaseKey: { S: 's1' } },
            UpdateExpression: 'ADD leaseCounter :one',
            ConditionExpression: 'leaseOwner = :w',
            ExpressionAttributeValues: { ':one': { N: '1' }, ':w': { S: 'worker-a' } },
          }),
        )
        .catch(() => {});
    }, 50);
    try {
      const refused = await rewind(name, '--to', 'trim-horizon', '--failover-time', '400ms');
      expect(refused.code).toBe(EXIT.failure);
      expect(refused.stdout).toBe('');
      const lines = refused.stderr.trimEnd().split('\n');
      expect(lines[0]).toContain('1 lease(s) owned: watching their counters');
      expect(lines[1]).toMatch(
        /^shardline: 1 lease\(s\) held by running worker\(s\) worker-a \(s1\).*\[LEASES_IN_USE\]$/,
      );
      expect(lines).toHaveLength(2);
      expect((await item(name, 's1')).checkpoint!.S).toBe('100');
      expect((await item(name, 's2')).checkpoint!.S).toBe('200');

      const forced = await rewind(name, '--to', 'trim-horizon', '--force');
      expect(forced.code).toBe(0);
      expect(forced.stdout).toMatch(
        /^s1 {2}100\/0 -> TRIM_HORIZON {2}fenced worker-a \(forced\), leaseCounter \d+ -> \d+$/m,
      );
      expect(forced.stdout).toContain('s2  200/0 -> TRIM_HORIZON  free lease, leaseCounter 2 -> 3');
      expect(forced.stdout).toContain(`rewound 2 lease(s) in table ${name}; fenced worker-a`);
    } finally {
      clearInterval(renewer);
    }
    const s1 = await item(name, 's1');
    expect(s1.checkpoint!.S).toBe('TRIM_HORIZON');
    expect(s1.leaseOwner).toBeUndefined();
  });

  it('rewind --json of a dead owner (counter still past the failover time), and --dry-run', async () => {
    const name = await table();
    const dry = await rewind(name, '--sequence', 's2=150/4', '--dry-run', '--json');
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      dryRun: true,
      changes: [
        {
          shardId: 's2',
          status: 'planned',
          to: { checkpoint: '150', checkpointSubSequenceNumber: 4 },
        },
      ],
    });
    expect((await item(name, 's2')).checkpoint!.S).toBe('200');

    const out = await rewind(name, '--to', 'latest', '--failover-time', '200ms', '--json');
    expect(out.code).toBe(0);
    expect(out.stderr).toBe('');
    const result = JSON.parse(out.stdout) as { watchedMillis: number; changes: unknown[] };
    expect(result.watchedMillis).toBeGreaterThan(200);
    expect(result.changes).toMatchObject([
      {
        shardId: 's1',
        owner: 'worker-a',
        liveness: 'expired',
        fenced: true,
        leaseCounter: 5,
        leaseCounterAfter: 6,
        status: 'rewound',
      },
      { shardId: 's2', owner: null, fenced: false, status: 'rewound' },
    ]);
    expect((await item(name, 's1')).checkpoint!.S).toBe('LATEST');
  });
});
