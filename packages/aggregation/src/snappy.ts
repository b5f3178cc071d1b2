import { util } from './node-builtins';
import { jsSnappy, type SnappyCodec } from './snappy-js';

/** Which snappy implementation this process uses for snappy envelopes. */
export type SnappyImplementation = 'native' | 'js';

/**
 * Read through a variable, not a string literal, so that bundlers (esbuild, as in CDK's
 * NodejsFunction and SAM) do not follow it into the addon's platform-specific `.node` file, which
 * they cannot bundle. A bundle gets the pure-JS codec, or the addon when it is installed beside it.
 */
const NATIVE_MODULE = 'snappy';

// NODE_DEBUG=shardline prints it on stderr: the usual Node switch, with no logger to pass into
// this pure package.
const debug = util.debuglog('shardline');

let selected: SnappyCodec | undefined;

/**
 * The codec snappy envelopes use, picked on first use, so that nobody who never meets a snappy
 * envelope loads the native addon: the native `snappy` addon when it loads, the pure-JS one
 * otherwise, or when the environment says `SHARDLINE_SNAPPY=js`.
 */
export function snappyCodec(): SnappyCodec {
  return (selected ??= selectCodec(process.env.SHARDLINE_SNAPPY, loadNativeSnappy));
}

/**
 * Which implementation snappy envelopes use in this process: `'native'` (the `snappy` addon) or
 * `'js'` (the pure-JS fallback, same bytes). Picks it now if no snappy envelope has been written
 * or read yet.
 */
export function snappyImplementation(): SnappyImplementation {
  return snappyCodec().name;
}

/** The choice itself, apart from the process-wide cache, so that tests can make the addon fail. */
export function selectCodec(
  override: string | undefined,
  loadNative: () => SnappyCodec,
): SnappyCodec {
  if (override === 'js') {
    debug('snappy: pure-JS implementation (SHARDLINE_SNAPPY=js)');
    return jsSnappy;
  }
  try {
    const native = loadNative();
    debug('snappy: native addon (the snappy package)');
    return native;
  } catch (error) {
    const reason = String((error as Error)?.message ?? error).split('\n', 1)[0];
    debug('snappy: pure-JS implementation; the native addon did not load: %s', reason);
    return jsSnappy;
  }
}

interface NativeSnappy {
  compressSync(data: Uint8Array): Buffer;
  uncompressSync(data: Uint8Array): Buffer | string;
}

/** Loads the `snappy` addon, resolved from this module's own location. Throws when it cannot. */
export function loadNativeSnappy(): SnappyCodec {
  const native = moduleRequire()(NATIVE_MODULE) as NativeSnappy;
  if (typeof native?.compressSync !== 'function' || typeof native.uncompressSync !== 'function') {
    throw new Error('the snappy module has no compressSync/uncompressSync');
  }
  return {
    name: 'native',
    compress: (data) => native.compressSync(data),
    // A Buffer in, a Buffer out (a string only with its asBuffer: false option, never passed).
    uncompress: (payload) => native.uncompressSync(payload) as Buffer,
  };
}

/**
 * A `require` for this module. The CommonJS build and CommonJS bundles have `__filename`; the ES
 * module build and ES module bundles have `import.meta.url` (and no `require`).
 */
function moduleRequire(): NodeJS.Require {
  // Not a top-level import: the banner ESM bundles commonly get (`import { createRequire } from
  // 'module'`) declares `createRequire` at the bundle's top, and a second declaration would clash.
  const { createRequire } = process.getBuiltinModule('node:module');
  return createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
}
