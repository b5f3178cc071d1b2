/**
 * An HTTP/2 request handler for SubscribeToShard that shares sessions between subscriptions and
 * keeps them alive.
 *
 * The SDK's NodeHttp2Handler gives every event stream an isolated session and closes it (GOAWAY)
 * as soon as the response headers arrive. Real Kinesis tolerates that; kinesis-mock (and so
 * LocalStack and kinesis-local) answers with a protocol error and the subscription dies. Passing
 * `isEventStream: false` makes subscriptions lease pooled, multiplexed sessions that stay open,
 * which works on both. Shared sessions need health checks: a session whose peer went away
 * silently would stall every subscription on it, so each is PINGed and destroyed when the PING
 * is not answered; its subscriptions then fail and resubscribe on a new session.
 */
import type { ClientHttp2Session, SecureClientSessionOptions } from 'node:http2';
import { NodeHttp2Handler, type NodeHttp2HandlerOptions } from '@shardline/common/http-handlers';

/** Options of {@link createFanoutHttpHandler}. */
export interface FanoutHttpHandlerOptions {
  /**
   * Accept the self-signed certificate of a local emulator (kinesis-local, kinesis-mock,
   * LocalStack). Turns TLS verification off for this handler: never use it against AWS.
   * Default `false`.
   */
  allowSelfSignedCertificate?: boolean;
  /** How often each open session is PINGed. `0` turns health checks off. Default `10000`. */
  pingIntervalMs?: number;
  /** A session whose PING is not answered within this time is destroyed. Default `5000`. */
  pingTimeoutMs?: number;
  /** Most streams (subscriptions and calls) on one session before another is opened. Default: the server's limit. */
  maxConcurrentStreams?: number;
}

type HandleArgs = Parameters<NodeHttp2Handler['handle']>;

/** The handler {@link createFanoutHttpHandler} returns: a NodeHttp2Handler with pooled event streams and PING checks. */
export class FanoutHttpHandler extends NodeHttp2Handler {
  private readonly sessions = new Set<ClientHttp2Session>();
  private healthTimer: NodeJS.Timeout | undefined;
  private tracking = false;

  constructor(private readonly fanoutOptions: FanoutHttpHandlerOptions = {}) {
    const connect: SecureClientSessionOptions | undefined = fanoutOptions.allowSelfSignedCertificate
      ? { rejectUnauthorized: false }
      : undefined;
    const options: NodeHttp2HandlerOptions = {
      ...(connect ? { nodeHttp2ConnectOptions: connect } : {}),
      ...(fanoutOptions.maxConcurrentStreams
        ? { maxConcurrentStreams: fanoutOptions.maxConcurrentStreams }
        : {}),
    };
    super(options);
    this.trackSessions();
  }

  override handle(
    request: HandleArgs[0],
    options: HandleArgs[1] = {},
  ): ReturnType<NodeHttp2Handler['handle']> {
    return super.handle(request, { ...options, isEventStream: false });
  }

  override destroy(): void {
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.healthTimer = undefined;
    this.sessions.clear();
    super.destroy();
  }

  /**
   * False when this version of `@smithy/node-http-handler` no longer exposes the connection
   * manager the checks hook into: sessions then go unwatched (the pool's own error handling still
   * applies). The consumer logs a warning when it finds this false.
   */
  get healthChecksAvailable(): boolean {
    return this.tracking;
  }

  /** Open sessions this handler watches (for tests and diagnostics). */
  get openSessions(): number {
    return this.sessions.size;
  }

  /** PINGs every open session once; destroys those that do not answer in time. */
  async checkSessions(): Promise<void> {
    const timeoutMs = this.fanoutOptions.pingTimeoutMs ?? 5000;
    await Promise.all([...this.sessions].map((session) => pingOrDestroy(session, timeoutMs)));
  }

  // The connection manager is internal to NodeHttp2Handler; wrapping its connect is the one place
  // every new session passes through. If a future version moves it, health checks are skipped
  // (healthChecksAvailable turns false, and the consumer says so in its log).
  private trackSessions(): void {
    const manager = (
      this as unknown as { connectionManager?: { connect?: (url: string) => ClientHttp2Session } }
    ).connectionManager;
    const connect = manager?.connect?.bind(manager);
    if (!manager || !connect) return;
    this.tracking = true;
    manager.connect = (url: string) => {
      const session = connect(url);
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      this.ensureHealthTimer();
      return session;
    };
  }

  private ensureHealthTimer(): void {
    const interval = this.fanoutOptions.pingIntervalMs ?? 10_000;
    if (interval <= 0 || this.healthTimer) return;
    this.healthTimer = setInterval(() => void this.checkSessions(), interval);
    this.healthTimer.unref();
  }
}

function pingOrDestroy(session: ClientHttp2Session, timeoutMs: number): Promise<void> {
  if (session.destroyed || session.closed || session.connecting) return Promise.resolve();
  return new Promise((resolve) => {
    const fail = (reason: string) => {
      clearTimeout(timer);
      if (!session.destroyed)
        session.destroy(new Error(`HTTP/2 session failed its health check: ${reason}`));
      resolve();
    };
    const timer = setTimeout(() => fail(`no PING answer within ${timeoutMs} ms`), timeoutMs);
    timer.unref();
    try {
      const sent = session.ping((error) => {
        if (error) fail(error.message);
        else {
          clearTimeout(timer);
          resolve();
        }
      });
      if (!sent) {
        // Too many unanswered PINGs in flight: the peer is not keeping up.
        fail('PING could not be sent');
      }
    } catch (error) {
      fail((error as Error).message);
    }
  });
}

/**
 * An HTTP/2 request handler for a KinesisClient used for SubscribeToShard: subscriptions share
 * pooled sessions that stay open (needed against local emulators, fine on AWS), and sessions are
 * health-checked with PING.
 *
 * ```ts
 * new KinesisClient({ requestHandler: createFanoutHttpHandler() })
 * ```
 */
export function createFanoutHttpHandler(options: FanoutHttpHandlerOptions = {}): FanoutHttpHandler {
  return new FanoutHttpHandler(options);
}
