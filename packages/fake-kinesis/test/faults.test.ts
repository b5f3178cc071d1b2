import type { ServerResponse } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import type { PartialFailure } from '../src/backend';
import { FaultPlan, seededRandom } from '../src/fault-plan';
import {
  FAULT_BEHAVIOUR,
  NON_TERMINAL_FAULTS,
  type FaultKind,
  type FaultRule,
  type FaultedRequest,
} from '../src/faults';

/** A response that records what a fault wrote to it. */
function recordingRequest(operation = 'PutRecords') {
  const seen = {
    status: 0,
    headers: {} as Record<string, unknown>,
    body: '',
    ended: false,
    destroyed: false,
    stalls: 0,
    partial: undefined as PartialFailure | undefined,
  };
  const res = {
    writeHead(status: number, headers: Record<string, unknown>) {
      seen.status = status;
      seen.headers = headers;
    },
    write(chunk: string) {
      seen.body += chunk;
    },
    end(chunk?: string) {
      seen.body += chunk ?? '';
      seen.ended = true;
    },
    socket: { destroy: () => (seen.destroyed = true) },
  } as unknown as ServerResponse;
  const request: FaultedRequest = {
    operation,
    res,
    stall: () => {
      seen.stalls++;
      return Promise.resolve();
    },
    failEntries: (p) => (seen.partial = p),
  };
  return { seen, request };
}

const apply = (rule: FaultRule, request: FaultedRequest) =>
  Promise.resolve(FAULT_BEHAVIOUR[rule.kind].apply(rule, request));

describe('FAULT_BEHAVIOUR', () => {
  it('non-terminal kinds are the ones that do not end a request, and FaultPlan uses them', () => {
    const kinds = Object.keys(FAULT_BEHAVIOUR) as FaultKind[];
    expect([...NON_TERMINAL_FAULTS].sort()).toEqual(['latency', 'partial', 'stall']);
    expect(kinds.filter((k) => FAULT_BEHAVIOUR[k].ends).sort()).toEqual([
      'expired-iterator',
      'internal',
      'malformed',
      'reset',
      'throttle',
    ]);
    // Two delaying rules and the first ending one apply; the second ending one does not.
    const plan = new FaultPlan(seededRandom(1));
    for (const kind of ['latency', 'throttle', 'stall', 'internal'] as const) plan.add({ kind });
    expect(plan.match('PutRecords').map((r) => r.kind)).toEqual(['latency', 'throttle', 'stall']);
  });

  it('throttle and internal answer with the service error shape', async () => {
    const throttle = recordingRequest();
    expect(
      await apply({ kind: 'throttle', code: 'LimitExceededException' }, throttle.request),
    ).toBe(true);
    expect(throttle.seen.status).toBe(400);
    expect(throttle.seen.headers['x-amzn-errortype']).toBe('LimitExceededException');
    expect(JSON.parse(throttle.seen.body)).toEqual({
      __type: 'LimitExceededException',
      message: 'Rate exceeded (injected)',
    });
    const internal = recordingRequest();
    expect(await apply({ kind: 'internal' }, internal.request)).toBe(true);
    expect(internal.seen.status).toBe(500);
    expect(JSON.parse(internal.seen.body).__type).toBe('InternalFailure');
  });

  it('expired-iterator answers GetRecords only', async () => {
    const put = recordingRequest('PutRecords');
    expect(await apply({ kind: 'expired-iterator' }, put.request)).toBe(false);
    expect(put.seen.ended).toBe(false);
    const get = recordingRequest('GetRecords');
    expect(await apply({ kind: 'expired-iterator' }, get.request)).toBe(true);
    expect(get.seen.headers['x-amzn-errortype']).toBe('ExpiredIteratorException');
  });

  it('malformed answers 200 with a body that is not JSON; reset cuts the answer off', async () => {
    const malformed = recordingRequest();
    expect(await apply({ kind: 'malformed' }, malformed.request)).toBe(true);
    expect(malformed.seen.status).toBe(200);
    expect(() => JSON.parse(malformed.seen.body)).toThrow();
    const reset = recordingRequest();
    expect(await apply({ kind: 'reset' }, reset.request)).toBe(true);
    expect(reset.seen.destroyed).toBe(true);
    expect(reset.seen.ended).toBe(false);
    expect(Number(reset.seen.headers['content-length'])).toBeGreaterThan(reset.seen.body.length);
  });

  it('partial, stall and latency let the request go on', async () => {
    const partial = recordingRequest();
    expect(await apply({ kind: 'partial' }, partial.request)).toBe(false);
    expect(partial.seen.partial).toEqual({
      fraction: 0.3,
      code: 'ProvisionedThroughputExceededException',
    });
    const stall = recordingRequest();
    expect(await apply({ kind: 'stall' }, stall.request)).toBe(false);
    expect(stall.seen.stalls).toBe(1);
    vi.useFakeTimers();
    try {
      const latency = recordingRequest();
      let done = false;
      const pending = apply({ kind: 'latency', latencyMs: 250 }, latency.request).then(
        (answered) => {
          done = true;
          return answered;
        },
      );
      await vi.advanceTimersByTimeAsync(249);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(await pending).toBe(false);
      expect(latency.seen.ended).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});
