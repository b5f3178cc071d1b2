/**
 * Enhanced fan-out retrieval: a registered stream consumer and one SubscribeToShard subscription
 * per leased shard, over shared HTTP/2 sessions.
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Logger } from 'pino';
import type { Retrieval, RetrievalContext, ShardReader, StartPosition } from '../types';
import { FanoutReader } from './fanout-reader';
import { createFanoutHttpHandler } from './http2-handler';
import { deregisterStreamConsumer, ensureStreamConsumer } from './registration';
import { ShardListing } from './shard-listing';
import { SubscribeRateLimiter } from './subscription-policy';

export {
  createFanoutHttpHandler,
  FanoutHttpHandler,
  type FanoutHttpHandlerOptions,
} from './http2-handler';
export { FanoutRegistrationError } from './errors';

/** Options of enhanced fan-out retrieval (`retrieval: { mode: 'fanout', consumerName }`). */
export interface FanoutRetrievalOptions {
  mode: 'fanout';
  /** Name of the stream consumer; registered (RegisterStreamConsumer) when absent. */
  consumerName: string;
  /**
   * The client SubscribeToShard is sent with; it must speak HTTP/2 (TLS). Give it
   * {@link createFanoutHttpHandler} as `requestHandler` so subscriptions share sessions.
   * Default: a client built by the retrieval with that handler, the consumer client's region and
   * credentials, and `endpoint` (or the consumer client's custom endpoint, or the AWS default).
   */
  kinesisClient?: KinesisClient;
  /**
   * Endpoint of the client the retrieval builds when `kinesisClient` is not given, e.g. a local
   * emulator's TLS port. Default: the consumer client's custom endpoint, else the AWS default.
   */
  endpoint?: string;
  /**
   * Accept a local emulator's self-signed certificate on the client the retrieval builds. Turns
   * TLS verification off for SubscribeToShard: emulators only. Default `false`.
   */
  allowSelfSignedCertificate?: boolean;
  /**
   * End each subscription after this long and resubscribe from the last event handed to the
   * processor. The service ends subscriptions after 5 minutes anyway; tests use a few seconds to
   * force renewals. `0`: never renew early. Default `0`.
   */
  subscriptionRenewalMs?: number;
  /** How long `start()` waits for the consumer to become ACTIVE. Default `120000`. */
  registrationTimeoutMs?: number;
  /** Deregister the stream consumer when the consumer stops. Default `false` (other workers may still use it). */
  deregisterOnStop?: boolean;
  /**
   * How often a reader whose subscription delivers only empty events asks ListShards whether its
   * shard closed. AWS ends a closed shard's subscription with a ChildShards event; emulators
   * (kinesis-mock, LocalStack, kinesis-local) never send one, and this check is how their shards
   * end. `0`: rely on ChildShards only. Default `10000`.
   */
  shardEndCheckIntervalMs?: number;
  /**
   * Called for every failed subscription attempt (retried or not), e.g. for metrics, with the
   * error's name or code (`ResourceInUseException`, `ERR_HTTP2_STREAM_ERROR`, ...). Default: none.
   */
  onReadError?: (shardId: string, code: string) => void;
  /** PING interval of the HTTP/2 sessions of the client the retrieval builds. `0`: off. Default `10000`. */
  pingIntervalMs?: number;
}

/** Enhanced fan-out retrieval (SubscribeToShard). */
export function createFanoutRetrieval(options: FanoutRetrievalOptions): Retrieval {
  return new FanoutRetrieval(options);
}

class FanoutRetrieval implements Retrieval {
  readonly mode = 'fanout' as const;
  private context: RetrievalContext | undefined;
  private consumerArn: string | undefined;
  private subscribeClient: KinesisClient | undefined;
  private ownClient = false;
  private readonly limiter = new SubscribeRateLimiter();
  private readonly readers = new Set<FanoutReader>();
  private listing: ShardListing | undefined;

  constructor(private readonly options: FanoutRetrievalOptions) {}

  async start(context: RetrievalContext): Promise<void> {
    this.context = context;
    this.listing = new ShardListing(context.kinesisClient, context.streamArn);
    this.consumerArn = await ensureStreamConsumer({
      client: context.kinesisClient,
      streamArn: context.streamArn,
      consumerName: this.options.consumerName,
      timeoutMs: this.options.registrationTimeoutMs ?? 120_000,
      signal: context.signal,
      logger: context.logger,
    });
    if (this.options.kinesisClient) {
      this.subscribeClient = this.options.kinesisClient;
    } else {
      this.subscribeClient = await buildSubscribeClient(
        context.kinesisClient,
        this.options,
        context.logger,
      );
      this.ownClient = true;
    }
    context.logger.info(
      { consumerName: this.options.consumerName },
      'enhanced fan-out consumer ACTIVE',
    );
  }

  createReader(shardId: string, position: StartPosition): ShardReader {
    if (!this.context || !this.consumerArn || !this.subscribeClient)
      throw new Error('fan-out retrieval used before start');
    const reader: FanoutReader = new FanoutReader({
      client: this.subscribeClient,
      consumerArn: this.consumerArn,
      shardId,
      position,
      limiter: this.limiter,
      subscriptionRenewalMs: this.options.subscriptionRenewalMs ?? 0,
      logger: this.context.logger,
      onClose: () => this.readers.delete(reader),
      onReadError: (code) => this.options.onReadError?.(shardId, code),
      shardEndCheckIntervalMs: this.options.shardEndCheckIntervalMs ?? 10_000,
      ...(this.listing
        ? { checkShardClosed: (id: string) => this.listing!.childrenIfClosed(id) }
        : {}),
    });
    this.readers.add(reader);
    return reader;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.readers].map((r) => r.close()));
    if (this.options.deregisterOnStop && this.context) {
      await deregisterStreamConsumer(
        this.context.kinesisClient,
        this.context.streamArn,
        this.options.consumerName,
      ).catch((error: unknown) =>
        this.context?.logger.warn(
          { err: error, consumerName: this.options.consumerName },
          'deregistering the stream consumer failed',
        ),
      );
    }
    if (this.ownClient) this.subscribeClient?.destroy();
    this.subscribeClient = undefined;
  }
}

/** A client like the consumer's (region, credentials, endpoint) but with the fan-out HTTP/2 handler. */
async function buildSubscribeClient(
  base: KinesisClient,
  options: FanoutRetrievalOptions,
  logger: Logger,
): Promise<KinesisClient> {
  const config = base.config;
  let endpoint = options.endpoint;
  if (!endpoint && config.isCustomEndpoint && config.endpoint) {
    const e = await config.endpoint();
    endpoint = `${e.protocol}//${e.hostname}${e.port ? `:${e.port}` : ''}${e.path ?? ''}`;
  }
  const requestHandler = createFanoutHttpHandler({
    allowSelfSignedCertificate: options.allowSelfSignedCertificate === true,
    ...(options.pingIntervalMs !== undefined ? { pingIntervalMs: options.pingIntervalMs } : {}),
  });
  if (!requestHandler.healthChecksAvailable && options.pingIntervalMs !== 0) {
    logger.warn(
      'HTTP/2 session health checks are unavailable with this @smithy/node-http-handler version: a session that stops answering is noticed only when its subscriptions time out',
    );
  }
  return new KinesisClient({
    region: config.region,
    credentials: config.credentials,
    ...(endpoint ? { endpoint } : {}),
    requestHandler,
  });
}
