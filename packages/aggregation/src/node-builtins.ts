/**
 * The Node built-ins this package uses at load, taken with `process.getBuiltinModule` rather than
 * `import`. As an ES module (the ESM build, and ESM bundles), an `import` from a built-in makes
 * Node build an ES module facade over it that reads every export; for crypto and util that
 * measured 1–2 ms of CPU more per cold start of an ESM Lambda handler
 * (packages/consumer/bench/cold-start.bench.ts, on a busy machine). In CommonJS both cost the same.
 */
export const crypto = process.getBuiltinModule('node:crypto');
export const { createHash } = crypto;
export const util = process.getBuiltinModule('node:util');
