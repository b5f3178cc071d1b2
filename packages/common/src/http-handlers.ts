/**
 * The AWS SDK's HTTP handlers, taken from `@smithy/node-http-handler`'s ES module build and bundled
 * into this entry at build time.
 *
 * Why not import the package as is: bundlers for Node (esbuild's defaults, so CDK's NodejsFunction
 * and SAM) pick its CommonJS build, whose `require("node:http2")` and friends an ES module bundle
 * cannot serve ("Dynamic require of "node:https" is not supported"). Its ES module build imports
 * the built-ins instead, so a bundle of the producer or the consumer runs as ESM with no banner.
 * The copy is the version pinned in this package's dependencies; the SDK keeps its own for its
 * default handlers. Types still come from the package.
 */
export { NodeHttpHandler, NodeHttp2Handler } from '@smithy/node-http-handler';
export type { NodeHttpHandlerOptions, NodeHttp2HandlerOptions } from '@smithy/node-http-handler';
