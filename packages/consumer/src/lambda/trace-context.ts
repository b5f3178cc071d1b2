import type { RecordTraceContext } from '../processor';

// Shared by the consumer's record decoder and the Lambda adapter; kept here, with no imports at
// run time, so the Lambda entry loads nothing more for it.

/** The trace context in a user record's aggregate tags, if they carry one. */
export function traceContextOf(
  tags: Readonly<Record<string, string>>,
): RecordTraceContext | undefined {
  const traceparent = tags.traceparent;
  if (typeof traceparent !== 'string' || !Object.hasOwn(tags, 'traceparent')) return undefined;
  const tracestate = Object.hasOwn(tags, 'tracestate') ? tags.tracestate : undefined;
  return tracestate ? { traceparent, tracestate } : { traceparent };
}
