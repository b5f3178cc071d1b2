import { InvalidRecordError } from '@shardline/aggregation';

/**
 * A W3C trace context (https://www.w3.org/TR/trace-context/) as the two header values carry it.
 * The producer writes it as the record's `traceparent`/`tracestate` tags inside a KPL aggregate.
 */
export interface TraceContext {
  /** `version-traceid-parentid-flags`, e.g. `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`. */
  traceparent: string;
  /** Vendor-specific trace state, passed on as given (at most 512 characters). */
  tracestate?: string;
}

/** Record tags carrying a trace context. */
export type TraceTags = Readonly<Record<string, string>>;

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);
/** The W3C limit a receiver may truncate beyond; the tag costs its bytes in every aggregate. */
const MAX_TRACESTATE = 512;

/**
 * The tags of a trace context, checked: a malformed one throws `InvalidRecordError`
 * (`TRACE_CONTEXT_INVALID`) at the boundary instead of travelling to every consumer.
 */
export function traceTags(context: TraceContext): TraceTags {
  if (context === null || typeof context !== 'object')
    throw invalid(`traceContext must be an object, got ${typeof context}`);
  const { traceparent, tracestate } = context;
  if (
    typeof traceparent !== 'string' ||
    !TRACEPARENT.test(traceparent) ||
    traceparent.startsWith('ff') ||
    traceparent.slice(3, 35) === ZERO_TRACE_ID ||
    traceparent.slice(36, 52) === ZERO_SPAN_ID
  ) {
    throw invalid(
      `traceContext.traceparent is not a W3C traceparent: ${JSON.stringify(String(traceparent).slice(0, 80))}`,
    );
  }
  if (tracestate === undefined || tracestate === '') return { traceparent };
  if (
    typeof tracestate !== 'string' ||
    tracestate.length > MAX_TRACESTATE ||
    /[^\x20-\x7e]/.test(tracestate)
  )
    throw invalid(
      `traceContext.tracestate must be printable ASCII of at most ${MAX_TRACESTATE} characters`,
    );
  return { traceparent, tracestate };
}

function invalid(message: string): InvalidRecordError {
  return new InvalidRecordError('TRACE_CONTEXT_INVALID', message);
}

/**
 * Calls the producer's `traceContext` supplier and checks what it gives, remembering the last
 * answer: consecutive puts under one span hand back the same object, checked once.
 */
export class ActiveTraceContext {
  private last: TraceContext | undefined;
  private lastTags: TraceTags | undefined;

  constructor(private readonly supplier: () => TraceContext | undefined) {}

  /** The active context's tags, undefined when none is active; throws when the supplier does or gives a bad one. */
  tags(): TraceTags | undefined {
    const context = this.supplier();
    if (context === undefined) return undefined;
    if (context === this.last) return this.lastTags;
    const tags = traceTags(context);
    this.last = context;
    this.lastTags = tags;
    return tags;
  }
}
