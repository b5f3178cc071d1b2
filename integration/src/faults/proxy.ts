import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  FaultPlan,
  NON_TERMINAL_FAULTS,
  seededRandom,
  type FaultHandle,
  type FaultKind,
  type FaultRule,
} from '@shardline/fake-kinesis';

/**
 * What the proxy does to a matching request: the fake's fault kinds, plus one for DynamoDB.
 * Faults that answer by themselves (`throttle`, `internal`, `expired-iterator`,
 * `conditional-check-failed`, `malformed`) never reach the backend. `latency` and `stall` forward
 * once the delay or the `release()` is over; `reset` forwards the request and destroys the client
 * socket partway through the answer, so the backend may have applied it, as with a real connection
 * lost mid-response; `partial` forwards and rewrites the PutRecords answer so a `fraction` of the
 * successful entries fail with `code`.
 */
export type ProxyFaultKind =
  | FaultKind
  /** DynamoDB UpdateItem/PutItem/DeleteItem: 400 ConditionalCheckFailedException. */
  | 'conditional-check-failed';

/** Which requests a fault applies to, and how often: the fake's rule, with the proxy's kinds. */
export interface ProxyFaultRule extends Omit<FaultRule, 'kind'> {
  kind: ProxyFaultKind;
  /** Operation (the part of `X-Amz-Target` after the dot: `PutRecords`, `UpdateItem`) or `*`. Default `*`. */
  operation?: string;
  /** Only requests whose body contains this string (e.g. a lease key). */
  bodyContains?: string;
}

/** Handle of an injected rule. */
export type ProxyFaultHandle = FaultHandle;

/** Options of {@link FaultProxy.start}. */
export interface FaultProxyOptions {
  /** Where requests go, e.g. `http://127.0.0.1:4568`. */
  target: string;
  /** RNG seed for probabilistic rules. Default 1. */
  seed?: number;
}

/** mulberry32: seeded, so a failing run replays the same faults. */
/**
 * A programmable HTTP/1.1 proxy on 127.0.0.1 in front of a real emulator (kinesis-local's plain
 * port, dynalite). It speaks no protocol of its own: it reads the operation from `X-Amz-Target`
 * and either answers with a fault in the AWS JSON 1.0/1.1 error shape or forwards the request.
 *
 * Enhanced fan-out (HTTP/2 over TLS, event streams) does not go through it: a TLS-terminating
 * HTTP/2 proxy would test the proxy more than the consumer. Fan-out faults belong in middleware
 * on the SDK client's stack instead.
 */
export class FaultProxy {
  /** Requests seen, by operation. */
  readonly calls: Record<string, number> = {};
  private readonly plan: FaultPlan<ProxyFaultRule>;
  private stalled: (() => void)[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly target: URL;
  private url = '';

  private constructor(
    private readonly server: Server,
    options: FaultProxyOptions,
  ) {
    this.target = new URL(options.target);
    this.plan = new FaultPlan<ProxyFaultRule>(seededRandom(options.seed ?? 1), NON_TERMINAL_FAULTS);
  }

  /** Starts the proxy on a free port; resolves once it listens. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const server = createServer({ keepAliveTimeout: 60_000 });
    const proxy = new FaultProxy(server, options);
    server.on('request', (req, res) => {
      proxy.handle(req, res).catch((e: unknown) => {
        // A bug in a rule (e.g. a body it cannot rewrite) must fail the call loudly, not hang it.
        if (!res.headersSent) error(res, 502, 'InternalFailure', `proxy: ${(e as Error).message}`);
        else res.destroy();
      });
    });
    server.on('connection', (socket) => {
      proxy.sockets.add(socket);
      socket.once('close', () => proxy.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return proxy;
  }

  /** The proxy's URL, to give a client as its endpoint. */
  get endpoint(): string {
    return this.url;
  }

  /** Faults injected so far, by kind. */
  get injected(): Readonly<Record<string, number>> {
    return this.plan.injectedByKind;
  }

  /** Total faults injected. */
  get totalInjected(): number {
    return this.plan.injected;
  }

  /** Adds a rule; rules are tried in the order added. */
  inject(rule: ProxyFaultRule): ProxyFaultHandle {
    return this.plan.add(rule);
  }

  /** Removes every rule (stalled requests stay stalled until `release`). */
  clearFaults(): void {
    this.plan.clear();
  }

  /** Lets every stalled request go on. */
  release(): void {
    const waiting = this.stalled;
    this.stalled = [];
    for (const go of waiting) go();
  }

  /** Stops listening and drops open connections. */
  async close(): Promise<void> {
    this.release();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.slice(target.indexOf('.') + 1);
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    const rules = this.plan.size === 0 ? [] : this.plan.match(operation, body.toString('utf8'));
    let partial: ProxyFaultRule | undefined;
    let reset = false;
    for (const rule of rules) {
      switch (rule.kind) {
        case 'latency':
          await new Promise((resolve) => setTimeout(resolve, rule.latencyMs ?? 100));
          break;
        case 'stall':
          await new Promise<void>((resolve) => this.stalled.push(resolve));
          break;
        case 'partial':
          partial = rule;
          break;
        case 'throttle':
          return error(
            res,
            400,
            rule.code ?? 'ProvisionedThroughputExceededException',
            'Rate exceeded (injected)',
          );
        case 'internal':
          return error(res, 500, 'InternalFailure', 'internal failure (injected)');
        case 'expired-iterator':
          return error(res, 400, 'ExpiredIteratorException', 'Iterator expired (injected)');
        case 'conditional-check-failed':
          return error(
            res,
            400,
            'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
            'The conditional request failed (injected)',
          );
        case 'malformed':
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
          res.end('{"FailedRecordCount": 0, "Records": [ not json');
          return;
        case 'reset':
          reset = true;
          break;
      }
    }
    const upstream = await this.forward(req, body).catch((e: unknown) => e as Error);
    if (upstream instanceof Error)
      return error(res, 502, 'InternalFailure', `proxy: backend unreachable: ${upstream.message}`);
    let answer = upstream.body;
    if (partial && upstream.status === 200 && operation === 'PutRecords')
      answer = this.failEntries(answer, partial);
    if (reset) {
      // Headers and half the body, then the socket dies: the client cannot know whether it applied.
      res.writeHead(upstream.status, {
        ...upstream.headers,
        'content-length': String(answer.length),
      });
      res.write(answer.subarray(0, Math.floor(answer.length / 2)));
      setImmediate(() => req.socket.destroy());
      return;
    }
    res.writeHead(upstream.status, {
      ...upstream.headers,
      'content-length': String(answer.length),
    });
    res.end(answer);
  }

  /** Fails a share of the entries the backend accepted. The backend kept them: as with the real service's partial answers, a retry may duplicate, never lose. */
  private failEntries(body: Buffer, rule: ProxyFaultRule): Buffer {
    const parsed = JSON.parse(body.toString('utf8')) as {
      FailedRecordCount?: number;
      Records?: Record<string, unknown>[];
    };
    const code = rule.code ?? 'ProvisionedThroughputExceededException';
    let failed = parsed.FailedRecordCount ?? 0;
    for (const [i, entry] of (parsed.Records ?? []).entries()) {
      if (typeof entry.ErrorCode === 'string' || this.plan.random() >= (rule.fraction ?? 0.3))
        continue;
      parsed.Records![i] = { ErrorCode: code, ErrorMessage: 'Rate exceeded for shard (injected)' };
      failed++;
    }
    parsed.FailedRecordCount = failed;
    return Buffer.from(JSON.stringify(parsed));
  }

  private forward(
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers = {
        ...req.headers,
        host: this.target.host,
        'content-length': String(body.length),
      };
      const out = httpRequest(
        {
          host: this.target.hostname,
          port: this.target.port,
          method: req.method,
          path: req.url,
          headers,
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => {
            const h: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) {
              if (
                v === undefined ||
                k === 'content-length' ||
                k === 'transfer-encoding' ||
                k === 'connection'
              )
                continue;
              h[k] = Array.isArray(v) ? v.join(', ') : v;
            }
            resolve({ status: res.statusCode ?? 502, headers: h, body: Buffer.concat(parts) });
          });
          res.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });
  }
}

function error(res: ServerResponse, status: number, type: string, message: string): void {
  const body = JSON.stringify({ __type: type, message });
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'x-amzn-errortype': type.split('#').pop()!,
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}
