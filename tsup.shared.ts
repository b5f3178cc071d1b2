import type { Options } from 'tsup';

/**
 * One build recipe for every package: ESM and CJS side by side with declarations, so a CommonJS
 * service on Node 20 can `require` what an ESM service `import`s. No dependency is ESM-only, so
 * every dependency stays external.
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
    ...extra,
  };
}
