import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  createServer as createHttp2Server,
  type Http2Server,
  type ServerHttp2Session,
} from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Backend } from './backend';
import { fakeKinesisClient } from './client';
import { FaultPlan, seededRandom, type FaultHandle } from './fault-plan';
import type { FaultRule } from './faults';
import { StreamRegistry } from './registry';
import { mergeShards, splitShard } from './resharding';
import { handleRequest, type RequestContext } from './server';
import { DEFAULT_SUBSCRIPTION_TIMING, type SubscriptionTiming } from './subscribe';
import { emptyStats, type FakeStats } from './stats';
import type { ShardState, StoredRecord } from './streams';
import { ShardLimits } from './throughput';

/** Options of the fake. */
export interface FakeKinesisOptions {
  /** Port on 127.0.0.1; default 0 (a free one). */
  port?: number;
  /** Region in stream ARNs and of `client()`. Default us-east-1. */
  region?: string;
  /** Enforce the per-shard write limits like the service. Default off. */
  shardLimits?: { recordsPerSecond?: number; bytesPerSecond?: number } | false;
  /** Largest record, data + partition key. Default 1 MiB. */
  maxRecordBytes?: number;
  /** Seed of the RNG behind probabilistic faults. Default 1. */
  seed?: number;
  /** Answer writes without keeping the data (benchmarks of the client's own cost). Default false. */
  discard?: boolean;
  /**
   * Pacing of SubscribeToShard event streams: look for new records every `pollMillis` (default
   * 200), send an empty event after `heartbeatMillis` without one (default 5000, as the service),
   * end the subscription after `lifetimeMillis` (default 300000, the service's 5 minutes).
   */
  subscriptions?: Partial<SubscriptionTiming>;
  /**
   * Also answer HTTP/2 cleartext (h2c, prior knowledge) on a second port, `http2Endpoint`: the
   * protocol enhanced fan-out's HTTP/2 handlers speak, so subscriptions share one multiplexed
   * session as they do against the service. Default false.
   */
  http2?: boolean;
}

/**
 * An in-process Kinesis on 127.0.0.1 speaking the JSON 1.1 protocol the SDK v3 client uses:
 * enough of the API for the producer, the consumer's polling and enhanced fan-out paths
 * (RegisterStreamConsumer and friends, SubscribeToShard over HTTP/1.1) and resharding, with the shard
 * limits the real service enforces (kinesis-local does not throttle) and programmable faults.
 */
export class FakeKinesis {
  readonly region: string;
  readonly stats: FakeStats = emptyStats();
  private readonly streams: StreamRegistry;
  private readonly faults: FaultPlan;
  private readonly stalled: (() => void)[] = [];
  private readonly sockets = new Set<Socket>();
  private http2Server: Http2Server | undefined;
  private readonly sessions = new Set<ServerHttp2Session>();
  private http2Url = '';
  private readonly context: RequestContext;
  private endpointUrl = '';

  private constructor(
    private readonly server: Server,
    options: FakeKinesisOptions,
  ) {
    this.region = options.region ?? 'us-east-1';
    this.faults = new FaultPlan(seededRandom(options.seed ?? 1));
    this.streams = new StreamRegistry(this.region);
    const backend: Backend = {
      streams: this.streams,
      stats: this.stats,
      limits: new ShardLimits(options.shardLimits),
      maxRecordBytes: options.maxRecordBytes ?? 1024 * 1024,
      discard: options.discard ?? false,
      random: this.faults.random,
    };
    this.context = {
      backend,
      faults: this.faults,
      stalled: this.stalled,
      subscriptions: { ...DEFAULT_SUBSCRIPTION_TIMING, ...options.subscriptions },
    };
  }

  /** Starts the fake; resolves once it listens. */
  static async start(options: FakeKinesisOptions = {}): Promise<FakeKinesis> {
    const server = createServer({ keepAliveTimeout: 60_000 });
    const fake = new FakeKinesis(server, options);
    server.on('request', (req, res) => handleRequest(fake.context, req, res));
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.once('close', () => fake.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    fake.endpointUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (options.http2) await fake.listenHttp2();
    return fake;
  }

  private async listenHttp2(): Promise<void> {
    const h2 = createHttp2Server();
    this.http2Server = h2;
    // The compatibility API's request and response have the members the handlers use (headers,
    // data events, writeHead, write, end, close), so both protocols share one code path.
    h2.on('request', (req, res) =>
      handleRequest(
        this.context,
        req as unknown as IncomingMessage,
        res as unknown as ServerResponse,
      ),
    );
    h2.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
    await new Promise<void>((resolve, reject) => {
      h2.once('error', reject);
      h2.listen(0, '127.0.0.1', () => resolve());
    });
    this.http2Url = `http://127.0.0.1:${(h2.address() as AddressInfo).port}`;
  }

  get endpoint(): string {
    return this.endpointUrl;
  }

  /** The h2c endpoint (`http2: true`), '' otherwise. */
  get http2Endpoint(): string {
    return this.http2Url;
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
    const stream = this.streams.create(name, shardCount, options.mode ?? 'PROVISIONED');
    return { streamName: name, streamArn: stream.arn };
  }

  /** Splits an open shard at `newStartingHashKey` (default: the middle of its range). */
  splitShard(streamName: string, shardId: string, newStartingHashKey?: string): [string, string] {
    return splitShard(this.streams.get(streamName), shardId, newStartingHashKey);
  }

  /** Merges two adjacent open shards. */
  mergeShards(streamName: string, shardId: string, adjacentShardId: string): string {
    return mergeShards(this.streams.get(streamName), shardId, adjacentShardId);
  }

  shards(streamName: string): readonly ShardState[] {
    return this.streams.get(streamName).shards;
  }

  /** Records stored, of one shard or of all (in shard order). */
  records(streamName: string, shardId?: string): StoredRecord[] {
    const shards = this.streams.get(streamName).shards;
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
    Object.assign(this.stats, emptyStats());
  }

  async close(): Promise<void> {
    this.release();
    const h2 = this.http2Server;
    if (h2)
      await new Promise<void>((resolve) => {
        h2.close(() => resolve());
        for (const session of this.sessions) session.destroy();
      });
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }
}
