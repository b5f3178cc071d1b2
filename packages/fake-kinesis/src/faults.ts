import type { ServerResponse } from 'node:http';
import type { PartialFailure } from './backend';
import { sendError, ServiceError, writeRawHead } from './service-error';

/** A fault the fake injects, per matching request. */
export type FaultKind =
  /** Whole call answered 400 ProvisionedThroughputExceededException (or `code`). */
  | 'throttle'
  /** Whole call answered 500 InternalFailure. */
  | 'internal'
  /** The response is delayed by `latencyMs`. */
  | 'latency'
  /** The connection is destroyed after part of the response was written. */
  | 'reset'
  /** PutRecords: a `fraction` of entries fail with `code` (default ProvisionedThroughputExceededException). */
  | 'partial'
  /** GetRecords: 400 ExpiredIteratorException. */
  | 'expired-iterator'
  /** The response is held until `release()` (a stalled backend). */
  | 'stall'
  /** 200 with a body that is not JSON. */
  | 'malformed';

/** Which requests a fault applies to, and how often. */
export interface FaultRule {
  kind: FaultKind;
  /** Operation name (`PutRecords`, `GetRecords`, ...) or `*`. Default `*`. */
  operation?: string;
  /** Apply to this many matching requests, then stop. Default: unlimited. */
  times?: number;
  /** Apply with this probability (seeded RNG). Default 1. */
  probability?: number;
  latencyMs?: number;
  /** For `partial`: share of entries that fail. Default 0.3. */
  fraction?: number;
  /** Error code for `throttle` or `partial`. */
  code?: string;
}

/** The request a fault acts on, as the fake's server hands it over. */
export interface FaultedRequest {
  readonly operation: string;
  readonly res: ServerResponse;
  /** Resolves once `release()` is called. */
  stall(): Promise<void>;
  /** PutRecords goes on, but with this share of its entries failing. */
  failEntries(partial: PartialFailure): void;
}

/** What one kind of fault does. */
export interface FaultBehaviour {
  /** Whether it may end the request; any number of the others apply at once (see `FaultPlan.match`). */
  readonly ends: boolean;
  /** Acts on the request; true once it has answered it, so nothing else may. */
  apply(rule: FaultRule, request: FaultedRequest): boolean | Promise<boolean>;
}

const answer = (request: FaultedRequest, error: ServiceError): true => {
  sendError(request.res, error);
  return true;
};

/** Every fault kind and what it does: the one place a kind is turned into behaviour. */
export const FAULT_BEHAVIOUR: { readonly [K in FaultKind]: FaultBehaviour } = {
  latency: {
    ends: false,
    apply: async (rule) => {
      await new Promise((resolve) => setTimeout(resolve, rule.latencyMs ?? 100));
      return false;
    },
  },
  stall: {
    ends: false,
    apply: async (_rule, request) => {
      await request.stall();
      return false;
    },
  },
  partial: {
    ends: false,
    apply: (rule, request) => {
      request.failEntries({
        fraction: rule.fraction ?? 0.3,
        code: rule.code ?? 'ProvisionedThroughputExceededException',
      });
      return false;
    },
  },
  throttle: {
    ends: true,
    apply: (rule, request) =>
      answer(
        request,
        new ServiceError(
          rule.code ?? 'ProvisionedThroughputExceededException',
          'Rate exceeded (injected)',
        ),
      ),
  },
  internal: {
    ends: true,
    apply: (_rule, request) =>
      answer(
        request,
        new ServiceError('InternalFailure', 'Internal service failure (injected)', 500),
      ),
  },
  'expired-iterator': {
    ends: true,
    // Counts as applied on any operation, but only a GetRecords has an iterator to expire.
    apply: (_rule, request) =>
      request.operation === 'GetRecords' &&
      answer(request, new ServiceError('ExpiredIteratorException', 'Iterator expired (injected)')),
  },
  malformed: {
    ends: true,
    apply: (_rule, { res }) => {
      writeRawHead(res);
      res.end('{"Records": [ this is not json');
      return true;
    },
  },
  reset: {
    ends: true,
    apply: (_rule, { res }) => {
      // Promise more than is sent, then drop the connection: the client sees a cut-off answer.
      writeRawHead(res, 1000);
      res.write('{"FailedRecordCount":0,');
      res.socket?.destroy();
      return true;
    },
  },
};

/** Kinds that delay or alter a request without ending it; any number apply at once. */
export const NON_TERMINAL_FAULTS: ReadonlySet<string> = new Set(
  (Object.keys(FAULT_BEHAVIOUR) as FaultKind[]).filter((kind) => !FAULT_BEHAVIOUR[kind].ends),
);
