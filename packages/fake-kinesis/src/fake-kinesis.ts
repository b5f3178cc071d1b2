import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Agent } from 'node:http';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { FaultPlan, seededRandom, type FaultHandle, type FaultRule } from './faults';
import {
  addShard,
  closeShard,
  describeShard,
  newStream,
  nextSequence,
  routeRecord,
  type ShardState,
  type StoredRecord,
  type StreamState,
} from './streams';

/** Options of the fake. */
export interface FakeKinesisOptions {
  /** Port on 127.0.0.1; default 0 (a free one). */
  port?: number;
  region?: string;
  /** Enforce the per-shard write limits like the service. Default off. */
  shardLimits?: { recordsPerSecond?: number; bytesPerSecond?: number } | false;
  /** Largest record, data + partition key. Default 1 MiB. */
  maxRecordBytes?: number;
  /** Seed of the RNG behind probabilistic faults. Default 1. */
  seed?: number;
  /** Answer writes without keeping the data (benchmarks of the client's own cost). Default false. */
  discard?: boolean;
}

/** Running counts, for assertions and benchmarks. */
export interface FakeStats {
  calls: Record<string, number>;
  entriesAccepted: number;
  entriesFailed: Record<string, number>;
  faultsInjected: number;
  bytesAccepted: number;
}

class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/**
 * An in-process Kinesis on 127.0.0.1 speaking the JSON 1.1 protocol the SDK v3 client uses:
 * enough of the API for the producer, the consumer's polling path and resharding, with the shard
 * limits the real service enforces (kinesis-local does not throttle) and programmable faults.
 */
export class FakeKinesis {
  readonly region: string;
  readonly stats: FakeStats = {
    calls: {},
    entriesAccepted: 0,
    entriesFailed: {},
    faultsInjected: 0,
    bytesAccepted: 0,
  };
  private readonly streams = new Map<string, StreamState>();
  private readonly faults: FaultPlan;
  private readonly stalled: (() => void)[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly recordsPerSecond: number;
  private readonly bytesPerSecond: number;
  private readonly limits: boolean;
  private readonly maxRecordBytes: number;
  private readonly discard: boolean;
  private endpointUrl = '';

  private constructor(
    private readonly server: Server,
    options: FakeKinesisOptions,
  ) {
    this.region = options.region ?? 'us-east-1';
    this.faults = new FaultPlan(seededRandom(options.seed ?? 1));
    this.limits = options.shardLimits !== undefined && options.shardLimits !== false;
    const limits = options.shardLimits || {};
    this.recordsPerSecond = limits.recordsPerSecond ?? 1000;
    this.bytesPerSecond = limits.bytesPerSecond ?? 1024 * 1024;
    this.maxRecordBytes = options.maxRecordBytes ?? 1024 * 1024;
    this.discard = options.discard ?? false;
  }

  /** Starts the fake; resolves once it listens. */
  static async start(options: FakeKinesisOptions = {}): Promise<FakeKinesis> {
    const server = createServer({ keepAliveTimeout: 60_000 });
    const fake = new FakeKinesis(server, options);
    server.on('request', (req, res) => fake.handle(req, res));
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.once('close', () => fake.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    fake.endpointUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return fake;
  }

  get endpoint(): string {
    return this.endpointUrl;
  }

  /** A client for the fake: HTTP/1.1 keep-alive, dummy credentials, SDK retries off (so injected faults are seen). */
  client(options: { maxAttempts?: number; maxSockets?: number } = {}): KinesisClient {
    return fakeKinesisClient(this.endpointUrl, { ...options, region: this.region });
  }

  createStream(
    name: string,
    shardCount: number,
    options: { mode?: 'PROVISIONED' | 'ON_DEMAND' } = {},
  ): { streamName: string; streamArn: string } {
    if (this.streams.has(name)) throw new Error(`stream ${name} exists`);
    const stream = newStream(name, shardCount, this.region, options.mode ?? 'PROVISIONED');
    this.streams.set(name, stream);
    return { streamName: name, streamArn: stream.arn };
  }

  /** Splits an open shard at `newStartingHashKey` (default: the middle of its range). */
  splitShard(streamName: string, shardId: string, newStartingHashKey?: string): [string, string] {
    const stream = this.stream(streamName);
    const shard = this.openShard(stream, shardId);
    const at =
      newStartingHashKey !== undefined
        ? BigInt(newStartingHashKey)
        : (shard.start + shard.end + 1n) / 2n;
    if (at <= shard.start || at > shard.end)
      throw new ServiceError('InvalidArgumentException', 'NewStartingHashKey outside the shard');
    const a = addShard(stream, shard.start, at - 1n, [shard.shardId]);
    const b = addShard(stream, at, shard.end, [shard.shardId]);
    closeShard(stream, shard, [a.shardId, b.shardId]);
    return [a.shardId, b.shardId];
  }

  /** Merges two adjacent open shards. */
  mergeShards(streamName: string, shardId: string, adjacentShardId: string): string {
    const stream = this.stream(streamName);
    const a = this.openShard(stream, shardId);
    const b = this.openShard(stream, adjacentShardId);
    const [lo, hi] = a.start < b.start ? [a, b] : [b, a];
    if (lo.end + 1n !== hi.start)
      throw new ServiceError('InvalidArgumentException', 'shards are not adjacent');
    const child = addShard(stream, lo.start, hi.end, [a.shardId, b.shardId]);
    closeShard(stream, a, [child.shardId]);
    closeShard(stream, b, [child.shardId]);
    return child.shardId;
  }

  shards(streamName: string): readonly ShardState[] {
    return this.stream(streamName).shards;
  }

  /** Records stored, of one shard or of all (in shard order). */
  records(streamName: string, shardId?: string): StoredRecord[] {
    const shards = this.stream(streamName).shards;
    return shards
      .filter((s) => shardId === undefined || s.shardId === shardId)
      .flatMap((s) => s.records);
  }

  inject(rule: FaultRule): FaultHandle {
    return this.faults.add(rule);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Lets every stalled response go on. */
  release(): void {
    for (const go of this.stalled.splice(0)) go();
  }

  resetStats(): void {
    Object.assign(this.stats, {
      calls: {},
      entriesAccepted: 0,
      entriesFailed: {},
      faultsInjected: 0,
      bytesAccepted: 0,
    });
  }

  async close(): Promise<void> {
    this.release();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }

  // ---- HTTP ----

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      const operation = typeof target === 'string' ? target.slice(target.indexOf('.') + 1) : '';
      this.stats.calls[operation] = (this.stats.calls[operation] ?? 0) + 1;
      void this.respond(operation, Buffer.concat(chunks), res);
    });
  }

  private async respond(operation: string, body: Buffer, res: ServerResponse): Promise<void> {
    const rules = this.faults.match(operation);
    this.stats.faultsInjected = this.faults.injected;
    let partial: { fraction: number; code: string } | undefined;
    for (const rule of rules) {
      switch (rule.kind) {
        case 'latency':
          await new Promise((resolve) => setTimeout(resolve, rule.latencyMs ?? 100));
          break;
        case 'stall':
          await new Promise<void>((resolve) => this.stalled.push(resolve));
          break;
        case 'throttle':
          return this.error(
            res,
            new ServiceError(
              rule.code ?? 'ProvisionedThroughputExceededException',
              'Rate exceeded (injected)',
            ),
          );
        case 'internal':
          return this.error(
            res,
            new ServiceError('InternalFailure', 'Internal service failure (injected)', 500),
          );
        case 'expired-iterator':
          if (operation === 'GetRecords')
            return this.error(
              res,
              new ServiceError('ExpiredIteratorException', 'Iterator expired (injected)'),
            );
          break;
        case 'malformed':
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
          res.end('{"Records": [ this is not json');
          return;
        case 'reset':
          res.writeHead(200, {
            'content-type': 'application/x-amz-json-1.1',
            'content-length': '1000',
          });
          res.write('{"FailedRecordCount":0,');
          res.socket?.destroy();
          return;
        case 'partial':
          partial = {
            fraction: rule.fraction ?? 0.3,
            code: rule.code ?? 'ProvisionedThroughputExceededException',
          };
          break;
      }
    }
    let payload: string;
    try {
      const input = body.length > 0 ? JSON.parse(body.toString('utf8')) : {};
      payload = this.operate(operation, input, partial);
    } catch (error) {
      if (error instanceof ServiceError) return this.error(res, error);
      return this.error(res, new ServiceError('InternalFailure', (error as Error).message, 500));
    }
    res.writeHead(200, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(payload),
    });
    res.end(payload);
  }

  private error(res: ServerResponse, error: ServiceError): void {
    const payload = JSON.stringify({ __type: error.type, message: error.message });
    res.writeHead(error.status, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-errortype': error.type,
      'content-length': Buffer.byteLength(payload),
    });
    res.end(payload);
  }

  // ---- operations ----

  private operate(
    operation: string,
    input: Record<string, unknown>,
    partial?: { fraction: number; code: string },
  ): string {
    switch (operation) {
      case 'PutRecords':
        return this.putRecords(input, partial);
      case 'PutRecord':
        return this.putRecord(input);
      case 'ListShards':
        return this.listShards(input);
      case 'CreateStream':
        this.createStream(String(input.StreamName), Number(input.ShardCount ?? 4), {
          mode:
            (input.StreamModeDetails as { StreamMode?: 'ON_DEMAND' } | undefined)?.StreamMode ??
            'PROVISIONED',
        });
        return '{}';
      case 'DescribeStreamSummary':
        return this.describeStreamSummary(input);
      case 'DescribeStream':
        return this.describeStream(input);
      case 'ListStreams':
        return JSON.stringify({ StreamNames: [...this.streams.keys()], HasMoreStreams: false });
      case 'GetShardIterator':
        return this.getShardIterator(input);
      case 'GetRecords':
        return this.getRecords(input);
      case 'SplitShard':
        this.splitShard(
          this.streamOf(input).name,
          String(input.ShardToSplit),
          String(input.NewStartingHashKey),
        );
        return '{}';
      case 'MergeShards':
        this.mergeShards(
          this.streamOf(input).name,
          String(input.ShardToMerge),
          String(input.AdjacentShardToMerge),
        );
        return '{}';
      default:
        throw new ServiceError(
          'UnknownOperationException',
          `operation ${operation} is not supported by the fake`,
        );
    }
  }

  private stream(name: string): StreamState {
    const stream = this.streams.get(name);
    if (!stream)
      throw new ServiceError(
        'ResourceNotFoundException',
        `Stream ${name} under account 000000000000 not found.`,
      );
    return stream;
  }

  private streamOf(input: Record<string, unknown>): StreamState {
    if (typeof input.StreamName === 'string') return this.stream(input.StreamName);
    if (typeof input.StreamARN === 'string')
      return this.stream(input.StreamARN.slice(input.StreamARN.lastIndexOf('/') + 1));
    throw new ServiceError('ValidationException', 'StreamName or StreamARN is required');
  }

  private openShard(stream: StreamState, shardId: string): ShardState {
    const shard = stream.shards.find((s) => s.shardId === shardId);
    if (!shard || shard.endingSequenceNumber !== undefined)
      throw new ServiceError('ResourceNotFoundException', `open shard ${shardId} not found`);
    return shard;
  }

  /** Stores one entry, or says why not (limits). */
  private write(
    stream: StreamState,
    entry: { PartitionKey?: unknown; ExplicitHashKey?: unknown; Data?: unknown },
    now: number,
  ): { shard: ShardState; sequenceNumber: string } | { code: string; message: string } {
    const partitionKey = String(entry.PartitionKey ?? '');
    const encoded = String(entry.Data ?? '');
    const data = this.discard ? EMPTY : Buffer.from(encoded, 'base64');
    const explicitHashKey =
      typeof entry.ExplicitHashKey === 'string' ? entry.ExplicitHashKey : undefined;
    const shard = routeRecord(stream, partitionKey, explicitHashKey);
    const bytes =
      (this.discard ? Math.floor((encoded.length * 3) / 4) : data.length) +
      Buffer.byteLength(partitionKey);
    if (this.limits) {
      const second = Math.floor(now / 1000);
      if (shard.windowSecond !== second) {
        shard.windowSecond = second;
        shard.windowRecords = 0;
        shard.windowBytes = 0;
      }
      if (
        shard.windowRecords + 1 > this.recordsPerSecond ||
        shard.windowBytes + bytes > this.bytesPerSecond
      ) {
        return {
          code: 'ProvisionedThroughputExceededException',
          message: `Rate exceeded for shard ${shard.shardId} in stream ${stream.name} under account 000000000000.`,
        };
      }
      shard.windowRecords++;
      shard.windowBytes += bytes;
    }
    const sequenceNumber = nextSequence(stream);
    const record: StoredRecord = { sequenceNumber, partitionKey, data, arrival: now };
    if (explicitHashKey !== undefined) record.explicitHashKey = explicitHashKey;
    if (!this.discard) shard.records.push(record);
    this.stats.entriesAccepted++;
    this.stats.bytesAccepted += bytes;
    return { shard, sequenceNumber };
  }

  private validateEntry(entry: { PartitionKey?: unknown; Data?: unknown }): void {
    const key = entry.PartitionKey;
    if (typeof key !== 'string' || key.length === 0 || key.length > 256) {
      throw new ServiceError(
        'ValidationException',
        "1 validation error detected: Value at 'records.member.partitionKey' failed to satisfy constraint",
      );
    }
    const size = Math.floor((String(entry.Data ?? '').length * 3) / 4) + Buffer.byteLength(key);
    if (size > this.maxRecordBytes + 4) {
      throw new ServiceError(
        'ValidationException',
        `1 validation error detected: Value at 'records.member.data' failed to satisfy constraint: Member must have length less than or equal to ${this.maxRecordBytes}`,
      );
    }
  }

  private putRecords(
    input: Record<string, unknown>,
    partial?: { fraction: number; code: string },
  ): string {
    const stream = this.streamOf(input);
    const entries = (input.Records ?? []) as {
      PartitionKey?: unknown;
      ExplicitHashKey?: unknown;
      Data?: unknown;
    }[];
    if (entries.length === 0 || entries.length > 500)
      throw new ServiceError('ValidationException', 'Records must have between 1 and 500 entries');
    for (const e of entries) this.validateEntry(e);
    const now = Date.now();
    let failed = 0;
    const parts: string[] = [];
    for (const entry of entries) {
      let result: ReturnType<FakeKinesis['write']>;
      if (partial && this.faults.random() < partial.fraction)
        result = { code: partial.code, message: 'injected entry failure' };
      else result = this.write(stream, entry, now);
      if ('code' in result) {
        failed++;
        this.stats.entriesFailed[result.code] = (this.stats.entriesFailed[result.code] ?? 0) + 1;
        parts.push(
          `{"ErrorCode":${JSON.stringify(result.code)},"ErrorMessage":${JSON.stringify(result.message)}}`,
        );
      } else {
        parts.push(
          `{"SequenceNumber":"${result.sequenceNumber}","ShardId":"${result.shard.shardId}"}`,
        );
      }
    }
    return `{"FailedRecordCount":${failed},"Records":[${parts.join(',')}]}`;
  }

  private putRecord(input: Record<string, unknown>): string {
    const stream = this.streamOf(input);
    this.validateEntry(input);
    const result = this.write(stream, input, Date.now());
    if ('code' in result) throw new ServiceError(result.code, result.message);
    return JSON.stringify({ ShardId: result.shard.shardId, SequenceNumber: result.sequenceNumber });
  }

  private listShards(input: Record<string, unknown>): string {
    let stream: StreamState;
    let start = 0;
    if (typeof input.NextToken === 'string') {
      const token = JSON.parse(Buffer.from(input.NextToken, 'base64').toString()) as {
        stream: string;
        index: number;
      };
      stream = this.stream(token.stream);
      start = token.index;
    } else {
      stream = this.streamOf(input);
      if (typeof input.ExclusiveStartShardId === 'string') {
        start = stream.shards.findIndex((s) => s.shardId === input.ExclusiveStartShardId) + 1;
      }
    }
    const page = Math.min(Number(input.MaxResults ?? 1000), 1000);
    const shards = stream.shards.slice(start, start + page);
    const next =
      start + page < stream.shards.length
        ? Buffer.from(JSON.stringify({ stream: stream.name, index: start + page })).toString(
            'base64',
          )
        : undefined;
    return JSON.stringify({
      Shards: shards.map(describeShard),
      ...(next ? { NextToken: next } : {}),
    });
  }

  private describeStreamSummary(input: Record<string, unknown>): string {
    const stream = this.streamOf(input);
    return JSON.stringify({
      StreamDescriptionSummary: {
        StreamName: stream.name,
        StreamARN: stream.arn,
        StreamStatus: 'ACTIVE',
        StreamModeDetails: { StreamMode: stream.mode },
        RetentionPeriodHours: 24,
        StreamCreationTimestamp: stream.createdAt / 1000,
        EnhancedMonitoring: [],
        EncryptionType: 'NONE',
        OpenShardCount: stream.shards.filter((s) => s.endingSequenceNumber === undefined).length,
        ConsumerCount: 0,
      },
    });
  }

  private describeStream(input: Record<string, unknown>): string {
    const stream = this.streamOf(input);
    return JSON.stringify({
      StreamDescription: {
        StreamName: stream.name,
        StreamARN: stream.arn,
        StreamStatus: 'ACTIVE',
        Shards: stream.shards.map(describeShard),
        HasMoreShards: false,
        RetentionPeriodHours: 24,
        StreamCreationTimestamp: stream.createdAt / 1000,
        EnhancedMonitoring: [],
      },
    });
  }

  private getShardIterator(input: Record<string, unknown>): string {
    const stream = this.streamOf(input);
    const shard = stream.shards.find((s) => s.shardId === input.ShardId);
    if (!shard)
      throw new ServiceError(
        'ResourceNotFoundException',
        `shard ${String(input.ShardId)} not found`,
      );
    const type = String(input.ShardIteratorType);
    let index: number;
    const seq =
      typeof input.StartingSequenceNumber === 'string' ? BigInt(input.StartingSequenceNumber) : 0n;
    switch (type) {
      case 'TRIM_HORIZON':
        index = 0;
        break;
      case 'LATEST':
        index = shard.records.length;
        break;
      case 'AT_SEQUENCE_NUMBER':
        index = shard.records.findIndex((r) => BigInt(r.sequenceNumber) >= seq);
        if (index < 0) index = shard.records.length;
        break;
      case 'AFTER_SEQUENCE_NUMBER':
        index = shard.records.findIndex((r) => BigInt(r.sequenceNumber) > seq);
        if (index < 0) index = shard.records.length;
        break;
      case 'AT_TIMESTAMP': {
        const at = Number(input.Timestamp) * 1000;
        index = shard.records.findIndex((r) => r.arrival >= at);
        if (index < 0) index = shard.records.length;
        break;
      }
      default:
        throw new ServiceError('InvalidArgumentException', `bad ShardIteratorType ${type}`);
    }
    return JSON.stringify({ ShardIterator: iterator(stream.name, shard.shardId, index) });
  }

  private getRecords(input: Record<string, unknown>): string {
    const token = JSON.parse(Buffer.from(String(input.ShardIterator), 'base64').toString()) as {
      stream: string;
      shard: string;
      index: number;
    };
    const stream = this.stream(token.stream);
    const shard = stream.shards.find((s) => s.shardId === token.shard)!;
    const limit = Math.min(Number(input.Limit ?? 10_000), 10_000);
    const records = shard.records.slice(token.index, token.index + limit);
    const next = token.index + records.length;
    const atEnd = next >= shard.records.length;
    const closed = shard.endingSequenceNumber !== undefined;
    const out: Record<string, unknown> = {
      Records: records.map((r) => ({
        SequenceNumber: r.sequenceNumber,
        PartitionKey: r.partitionKey,
        Data: r.data.toString('base64'),
        ApproximateArrivalTimestamp: r.arrival / 1000,
      })),
      MillisBehindLatest: atEnd
        ? 0
        : Math.max(0, Date.now() - (shard.records[next]?.arrival ?? Date.now())),
    };
    if (closed && atEnd) {
      out.ChildShards = stream.shards
        .filter((s) => shard.children?.includes(s.shardId))
        .map((s) => ({
          ShardId: s.shardId,
          ParentShards: [s.parentShardId, s.adjacentParentShardId].filter(Boolean),
          HashKeyRange: { StartingHashKey: s.start.toString(), EndingHashKey: s.end.toString() },
        }));
    } else {
      out.NextShardIterator = iterator(stream.name, shard.shardId, next);
    }
    return JSON.stringify(out);
  }
}

const EMPTY = Buffer.alloc(0);

function iterator(stream: string, shard: string, index: number): string {
  return Buffer.from(JSON.stringify({ stream, shard, index })).toString('base64');
}

/**
 * A client for a fake at `endpoint`, also one running in another process (the benchmarks' stub):
 * fake credentials, HTTP/1.1 keep-alive, and no SDK retries unless asked (tests count attempts).
 */
export function fakeKinesisClient(
  endpoint: string,
  options: { region?: string; maxAttempts?: number; maxSockets?: number } = {},
): KinesisClient {
  return new KinesisClient({
    region: options.region ?? 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' },
    maxAttempts: options.maxAttempts ?? 1,
    requestHandler: new NodeHttpHandler({
      httpAgent: new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 50 }),
    }),
  });
}
