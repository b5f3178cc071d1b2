import type { ClientHttp2Stream } from 'node:http2';
import type { KinesisClient } from '@aws-sdk/client-kinesis';

/** Faults on live SubscribeToShard subscriptions, for a client that enhanced fan-out reads with. */
export interface FanoutFaults {
  /** Subscriptions whose HTTP/2 stream is still open. */
  readonly live: number;
  /** Faults injected so far. */
  readonly injected: number;
  /** SubscribeToShard responses seen (first subscriptions and resubscriptions). */
  readonly subscriptions: number;
  /** Resets every live subscription's stream (RST_STREAM), as a flaky network or the service would. Returns how many. */
  resetSubscriptions(): number;
  /** Destroys the HTTP/2 sessions under the live subscriptions: every subscription on them dies at once. Returns how many sessions. */
  loseSessions(): number;
}

/**
 * Adds middleware to `client` that keeps the HTTP/2 stream of each SubscribeToShard response, so
 * a test can reset subscriptions or kill their session mid-stream.
 *
 * Why middleware and not a proxy: fan-out is HTTP/2 over TLS with event streams; a proxy would
 * have to terminate TLS and re-frame HTTP/2, testing itself more than the consumer. The deserialize
 * step sees the raw response (its body is the `ClientHttp2Stream`) before the SDK parses events.
 */
export function attachFanoutFaults(client: KinesisClient): FanoutFaults {
  const streams = new Set<ClientHttp2Stream>();
  let injected = 0;
  let subscriptions = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'SubscribeToShardCommand') {
        const body = (result.response as { body?: unknown }).body as ClientHttp2Stream | undefined;
        if (body && typeof body.close === 'function' && 'session' in body) {
          subscriptions++;
          streams.add(body);
          body.once('close', () => streams.delete(body));
        }
      }
      return result;
    },
    { step: 'deserialize', name: 'shardlineFanoutFaults', priority: 'high' },
  );
  return {
    get live() {
      return streams.size;
    },
    get injected() {
      return injected;
    },
    get subscriptions() {
      return subscriptions;
    },
    resetSubscriptions() {
      const open = [...streams];
      for (const stream of open) stream.close(0x8 /* NGHTTP2_CANCEL */);
      injected += open.length;
      return open.length;
    },
    loseSessions() {
      const sessions = new Set([...streams].map((s) => s.session).filter((s) => s !== undefined));
      for (const session of sessions) session.destroy(new Error('session lost (injected)'));
      injected += sessions.size;
      return sessions.size;
    },
  };
}
