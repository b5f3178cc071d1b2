import type { Options } from 'tsup';

/**
 * One build recipe for every package: ESM and CJS side by side with declarations, so a CommonJS
 * service on Node 20 can `require` what an ESM service `import`s.
 *
 * ESM-only dependencies (p-retry and its helpers) are bundled into the output: `require()` of an
 * ES module is not something every Node 20 minor allows, and a CJS user must never hit it.
 */
export function packageBuild(entry: Record<string, string>, extra: Partial<Options> = {}): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    treeshake: true,
    noExternal: ['p-retry', 'is-network-error'],
    ...extra,
  };
}
