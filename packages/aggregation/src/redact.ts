/**
 * Log paths every Shardline logger redacts, whatever the level: record payloads and anything that
 * looks like a credential. Shardline never logs payloads itself; this catches what a caller's
 * bindings or an SDK error might carry. (Data, not I/O: it lives here so every package shares it.)
 */
export const REDACT_PATHS: readonly string[] = [
  'data',
  '*.data',
  'Data',
  '*.Data',
  'records[*].data',
  'credentials',
  '*.credentials',
  'secretAccessKey',
  '*.secretAccessKey',
  'sessionToken',
  '*.sessionToken',
  'accessKeyId',
  '*.accessKeyId',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
];
