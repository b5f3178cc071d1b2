import type { ServerResponse } from 'node:http';

const JSON_11 = 'application/x-amz-json-1.1';

/** An error the fake answers in the service's JSON 1.1 shape (`__type`, `message`). */
export class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Writes `error` as the service would: the type in the body and in `x-amzn-errortype`. */
export function sendError(res: ServerResponse, error: ServiceError): void {
  const payload = JSON.stringify({ __type: error.type, message: error.message });
  res.writeHead(error.status, {
    'content-type': JSON_11,
    'x-amzn-errortype': error.type,
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

/** Writes a 200 answer whose body is `payload`, already JSON. */
export function sendJson(res: ServerResponse, payload: string): void {
  res.writeHead(200, { 'content-type': JSON_11, 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

/** Headers of a 200 answer whose body a fault writes itself (not JSON, or cut short). */
export function writeRawHead(res: ServerResponse, contentLength?: number): void {
  res.writeHead(200, {
    'content-type': JSON_11,
    ...(contentLength === undefined ? {} : { 'content-length': String(contentLength) }),
  });
}
