import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Backend, PartialFailure } from './backend';
import type { FaultPlan } from './fault-plan';
import { FAULT_BEHAVIOUR, type FaultedRequest } from './faults';
import { operate } from './operations';
import { sendError, sendJson, ServiceError } from './service-error';
import { subscribeToShard, type SubscriptionTiming } from './subscribe';

/** What the HTTP side of the fake needs besides the operations' state. */
export interface RequestContext {
  readonly backend: Backend;
  readonly faults: FaultPlan;
  /** Where stalled requests wait for `release()`. */
  readonly stalled: (() => void)[];
  /** Pacing of SubscribeToShard event streams. */
  readonly subscriptions: SubscriptionTiming;
}

/** Reads a request, counts it by operation, and answers it. */
export function handleRequest(
  context: RequestContext,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const target = req.headers['x-amz-target'];
    const operation = typeof target === 'string' ? target.slice(target.indexOf('.') + 1) : '';
    const calls = context.backend.stats.calls;
    calls[operation] = (calls[operation] ?? 0) + 1;
    void respond(context, operation, Buffer.concat(chunks), res);
  });
}

/** The faults that match first, in the order added; then, unless one answered, the operation. */
async function respond(
  context: RequestContext,
  operation: string,
  body: Buffer,
  res: ServerResponse,
): Promise<void> {
  const { backend, faults } = context;
  const rules = faults.match(operation);
  backend.stats.faultsInjected = faults.injected;
  let partial: PartialFailure | undefined;
  const request: FaultedRequest = {
    operation,
    res,
    stall: () => new Promise<void>((resolve) => context.stalled.push(resolve)),
    failEntries: (p) => (partial = p),
  };
  for (const rule of rules) {
    const applied = FAULT_BEHAVIOUR[rule.kind].apply(rule, request);
    // Only the delaying kinds wait; the others act now, as when this was one inline switch.
    if (typeof applied === 'boolean' ? applied : await applied) return;
  }
  let payload: string;
  try {
    const input = body.length > 0 ? JSON.parse(body.toString('utf8')) : {};
    // The one operation whose answer is a stream of events rather than one JSON body.
    if (operation === 'SubscribeToShard')
      return subscribeToShard(backend, input, res, context.subscriptions);
    payload = operate(backend, operation, input, partial);
  } catch (error) {
    if (error instanceof ServiceError) return sendError(res, error);
    return sendError(res, new ServiceError('InternalFailure', (error as Error).message, 500));
  }
  sendJson(res, payload);
}
