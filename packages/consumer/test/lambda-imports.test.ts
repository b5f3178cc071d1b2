import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/** Every module the file imports at runtime (type-only imports are erased), followed through relative imports. */
function runtimeImports(entry: string): { files: string[]; packages: Set<string> } {
  const files: string[] = [];
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.includes(file)) continue;
    files.push(file);
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(
      /^\s*(?:import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm,
    )) {
      if (m[1]) continue;
      const spec = m[2]!;
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), `${spec}.ts`));
      else packages.add(spec);
    }
  }
  return { files, packages };
}

describe('@shardline/consumer/lambda entry', () => {
  it('loads nothing but @shardline/aggregation at runtime (no AWS SDK, no lease machinery), for short cold starts', () => {
    const { files, packages } = runtimeImports(resolve(src, 'lambda.ts'));
    expect([...packages].filter((p) => !p.startsWith('node:'))).toEqual(['@shardline/aggregation']);
    const outside = files
      .map((f) => f.slice(src.length + 1))
      .filter((f) => f !== 'lambda.ts' && !f.startsWith('lambda/'));
    // Shared with the long-running consumer, and so kept light: errors.ts (PoisonRecordError) and
    // decode-chain.ts (the decode chain, which loads only @shardline/aggregation), and
    // processing/key-ordered-runner.ts (the key-ordered scheduling of maxConcurrency; no imports).
    expect(outside.sort()).toEqual([
      'decode-chain.ts',
      'errors.ts',
      'processing/key-ordered-runner.ts',
    ]);
  });
});
