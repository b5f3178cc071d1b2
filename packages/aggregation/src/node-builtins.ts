/**
 * The Node built-ins this package uses at load, taken with `process.getBuiltinModule` rather than
 * `import`. As an ES module (the ESM build, and ESM bundles), `import { createHash } from
 * 'node:crypto'` makes Node build an ES module facade over crypto that reads every export, which
 * loads crypto's lazy parts: about 7 ms of CPU at every cold start of an ESM Lambda handler,
 * measured with packages/consumer/bench/cold-start.bench.ts. In CommonJS both cost the same.
 */
export const crypto = process.getBuiltinModule('node:crypto');
export const { createHash } = crypto;
export const util = process.getBuiltinModule('node:util');
