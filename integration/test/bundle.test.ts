import { execFile } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { compress } from '@shardline/aggregation';
import { build, type BuildOptions } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { theirAggregate } from '../../packages/aggregation/test/support/kinesis-agg';
import { backend, createStream, uniqueName } from '../src/backend';

// What users do with CDK's NodejsFunction, SAM's esbuild builds or a single-file service: bundle
// the handler with esbuild (platform node, ESM or CJS, nothing external but @aws-sdk/* where the
// Lambda runtime provides it), copy the one output file alone into an empty folder, run it there.
// The packages come from their built dist, laid out in node_modules as an npm install would.

const repo = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = join(repo, 'integration/fixtures/bundle');
const run = promisify(execFile);

/**
 * esbuild's ESM output cannot `require()` a Node built-in from a bundled CommonJS package: the call
 * throws "Dynamic require of "node:https" is not supported" at run time, and the usual cure is a
 * `createRequire` banner. Nothing of Shardline needs it: the packages load pino only when given a
 * logger, and carry the SDK's HTTP handlers as ES modules (`@shardline/common/http-handlers`). A
 * bundle that needs the banner shows it by calling esbuild's `__require` shim.
 */
const DYNAMIC_REQUIRE = /__require\(["'`]/;

let project: string;
const scratch: string[] = [];
const folder = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), `shardline-${prefix}-`));
  scratch.push(dir);
  return dir;
};

beforeAll(() => {
  project = folder('project');
  installLikeNpm(project);
});
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/**
 * A user project's node_modules: each @shardline package as `npm install` of its packed tarball
 * leaves it (package.json and its `files`), its third-party dependencies linked from this
 * workspace's store, so that what esbuild reads sits in node_modules as on a user's machine.
 * `omitOptional` leaves out optional dependencies (the native snappy addon), as
 * `npm install --omit=optional` does.
 */
function installLikeNpm(root: string, { omitOptional = false } = {}): void {
  const modules = join(root, 'node_modules');
  const link = (name: string, from: string) => {
    const target = join(modules, name);
    if (existsSync(target)) return;
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(realpathSync(join(from, 'node_modules', name)), target);
  };
  for (const name of ['common', 'aggregation', 'producer', 'consumer']) {
    const source = join(repo, 'packages', name);
    const manifest = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as {
      files: string[];
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    const target = join(modules, '@shardline', name);
    mkdirSync(target, { recursive: true });
    copyFileSync(join(source, 'package.json'), join(target, 'package.json'));
    for (const file of manifest.files) {
      if (existsSync(join(source, file)))
        cpSync(join(source, file), join(target, file), { recursive: true });
    }
    const deps = {
      ...manifest.dependencies,
      ...(omitOptional ? {} : manifest.optionalDependencies),
    };
    for (const dep of Object.keys(deps)) if (!dep.startsWith('@shardline/')) link(dep, source);
  }
  // The fixtures' own dependencies, as a user's package.json would list them.
  for (const dep of [
    '@aws-sdk/client-kinesis',
    '@aws-sdk/client-dynamodb',
    '@smithy/node-http-handler',
  ]) {
    link(dep, join(repo, 'integration'));
  }
}

type Format = 'esm' | 'cjs';

/**
 * Bundles a fixture with esbuild's defaults for Node, then copies the output file alone into an
 * empty folder. Fails on any error or warning esbuild reports, and on a bundle that would need the
 * `createRequire` banner. Returns the copied file's path.
 */
async function bundle(
  fixture: string,
  format: Format,
  extra: Pick<BuildOptions, 'external'> = {},
): Promise<string> {
  const entry = join(project, basename(fixture));
  copyFileSync(join(fixtures, fixture), entry);
  const name = `${basename(fixture, '.ts')}.${format === 'esm' ? 'mjs' : 'cjs'}`;
  const outfile = join(folder('out'), name);
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format,
    outfile,
    logLevel: 'silent',
    ...extra,
  });
  expect(result.errors).toEqual([]);
  expect(result.warnings.map((w) => w.text)).toEqual([]);
  expect(readFileSync(outfile, 'utf8')).not.toMatch(DYNAMIC_REQUIRE);
  const alone = join(folder('run'), name);
  copyFileSync(outfile, alone);
  return alone;
}

/** Runs a copied bundle (or a runner beside it) in its own folder; returns its JSON line and stderr. */
async function runAlone(file: string, env: Record<string, string> = {}, args: string[] = []) {
  // Without NODE_PATH: a package manager's bin shim sets it to its whole store, where the bundle
  // would find the native addon that no empty folder has.
  const { NODE_PATH: _, ...inherited } = process.env;
  const { stdout, stderr } = await run(process.execPath, [file, ...args], {
    cwd: dirname(file),
    env: { ...inherited, NODE_DEBUG: 'shardline', ...env },
    timeout: 150_000,
  });
  return { out: JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>, stderr };
}

const PURE_JS_LINE =
  /SHARDLINE \d+: snappy: pure-JS implementation; the native addon did not load: Cannot find module 'snappy'/;

describe.each(['esm', 'cjs'] as const)('bundled with esbuild (%s), run alone', (format) => {
  it('@shardline/aggregation: gzip and snappy envelopes both ways; snappy in pure JS alone, through the addon installed beside it', async () => {
    const file = await bundle('aggregation-script.ts', format);
    const envelope = Buffer.from(compress(Buffer.from('written by the addon'), 'snappy')).toString(
      'hex',
    );
    const { out, stderr } = await runAlone(file, { BUNDLE_ENVELOPE: envelope });
    expect(out).toEqual({
      gzip: 50,
      snappy: 50,
      read: 'written by the addon',
      snappy_implementation: 'js',
    });
    expect(stderr).toMatch(PURE_JS_LINE);
    // With the addon installed beside the bundle (CDK's nodeModules: ['snappy'], a Serverless
    // external), the same file finds and uses it.
    const modules = join(dirname(file), 'node_modules');
    mkdirSync(modules);
    symlinkSync(realpathSync(join(project, 'node_modules/snappy')), join(modules, 'snappy'));
    const beside = await runAlone(file, { BUNDLE_ENVELOPE: envelope });
    expect(beside.out).toEqual({ ...out, snappy_implementation: 'native' });
    expect(beside.stderr).toMatch(/SHARDLINE \d+: snappy: native addon/);
  });

  it('@shardline/consumer/lambda: a KPL event with gzip and snappy envelopes, a poison record and a failure', async () => {
    const file = await bundle('lambda-handler.ts', format);
    const code = readFileSync(file, 'utf8');
    // Nothing the Lambda runtime would have to provide, and no native addon.
    expect(code).not.toMatch(/@aws-sdk|\.node["']/);
    const event = await kplEvent();
    writeFileSync(join(dirname(file), 'event.json'), JSON.stringify(event.event));
    // The Lambda runtime's part: load the handler module, call it with the event.
    const runner = join(dirname(file), 'runtime.mjs');
    writeFileSync(
      runner,
      `import { readFileSync } from 'node:fs';
       const m = await import(process.argv[2]);
       const { handler, seen, poisoned } = m.handler ? m : m.default;
       const response = await handler(JSON.parse(readFileSync('event.json', 'utf8')), { functionName: 'f', getRemainingTimeInMillis: () => 60000 });
       console.log(JSON.stringify({ response, seen, poisoned }));`,
    );
    const { out, stderr } = await runAlone(runner, {}, [`./${basename(file)}`]);
    expect(out.response).toEqual({ batchItemFailures: [{ itemIdentifier: event.failing }] });
    expect(out.seen).toEqual(event.expected);
    expect(out.poisoned).toEqual(['POISON_RECORD']);
    expect(stderr).toMatch(PURE_JS_LINE);
  });

  it('@shardline/producer then @shardline/consumer: a round trip on the embedded backend', async () => {
    // As CDK bundles for the Lambda runtime by default: @aws-sdk/* external, found where the
    // runtime provides it (NODE_PATH for CommonJS; ES modules ignore NODE_PATH, so beside the
    // bundle, as the runtime's own resolution does), no banner. The consumer service itself
    // imports @smithy/node-http-handler for the HTTP/1.1 the emulator needs; that import is the
    // fixture's, not Shardline's, and is left external with the SDK in ESM.
    const producer = await bundle('producer-service.ts', format, { external: ['@aws-sdk/*'] });
    const consumer = await bundle(
      'consumer-service.ts',
      format,
      format === 'esm' ? { external: ['@aws-sdk/*', '@smithy/node-http-handler'] } : {},
    );
    if (format === 'esm') {
      provideRuntimeModules(dirname(producer));
      provideRuntimeModules(dirname(consumer), ['@smithy/node-http-handler']);
    }
    const streamName = uniqueName(`bundle-${format}`);
    await createStream(streamName, 2);
    const env = { ...awsEnvironment(), BUNDLE_STREAM: streamName, BUNDLE_COUNT: '400' };
    const produced = await runAlone(producer, {
      ...env,
      ...(format === 'cjs' ? { NODE_PATH: lambdaRuntimeModules() } : {}),
    });
    expect(produced.out).toEqual({ sent: 400, failed: 0 });
    expect(produced.stderr).toMatch(PURE_JS_LINE);
    const consumed = await runAlone(consumer, { ...env, BUNDLE_APP: uniqueName('bundle-app') });
    expect(consumed.out).toEqual({ received: 400, duplicates: 0, missing: 0 });
    expect(consumed.stderr).toMatch(PURE_JS_LINE);
  });
});

describe('installed without optional dependencies (npm install --omit=optional)', () => {
  it('every entry point loads unbundled, and snappy envelopes go through pure JS', async () => {
    const root = folder('omit-optional');
    installLikeNpm(root, { omitOptional: true });
    expect(existsSync(join(root, 'node_modules/snappy'))).toBe(false);
    const script = join(root, 'check.cjs');
    writeFileSync(
      script,
      `const a = require('@shardline/aggregation');
       require('@shardline/producer'); require('@shardline/consumer'); require('@shardline/consumer/lambda');
       const packed = a.compress(Buffer.from('x'.repeat(1000)), 'snappy');
       console.log(JSON.stringify({ back: Buffer.from(a.decompress(packed)).length, implementation: a.snappyImplementation() }));`,
    );
    const { out, stderr } = await runAlone(script);
    expect(out).toEqual({ back: 1000, implementation: 'js' });
    expect(stderr).toMatch(PURE_JS_LINE);
    // The same layout with the optional addon installed uses it: the check above can tell.
    const withAddon = join(project, 'check.cjs');
    copyFileSync(script, withAddon);
    expect((await runAlone(withAddon)).out).toEqual({ back: 1000, implementation: 'native' });
  });
});

/** A folder with only the AWS SDK in it, as the Lambda runtime's /var/runtime/node_modules. */
function lambdaRuntimeModules(): string {
  const root = folder('runtime');
  provideRuntimeModules(root);
  return join(root, 'node_modules');
}

/** Links the AWS SDK clients (and `more`) into `root`/node_modules, as the Lambda runtime has them. */
function provideRuntimeModules(root: string, more: string[] = []): void {
  const modules = join(root, 'node_modules');
  for (const name of ['@aws-sdk/client-kinesis', '@aws-sdk/client-dynamodb', ...more]) {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(realpathSync(join(repo, 'integration/node_modules', name)), join(modules, name));
  }
}

/** The standard AWS environment for the backend of this run, as a deployed service would have it. */
function awsEnvironment(): Record<string, string> {
  const info = backend();
  return {
    AWS_REGION: info.region,
    ...(info.credentials
      ? {
          AWS_ACCESS_KEY_ID: info.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: info.credentials.secretAccessKey,
        }
      : {}),
    ...(info.kinesisEndpoint ? { AWS_ENDPOINT_URL_KINESIS: info.kinesisEndpoint } : {}),
    ...(info.dynamodbEndpoint ? { AWS_ENDPOINT_URL_DYNAMODB: info.dynamodbEndpoint } : {}),
  };
}

/**
 * A Kinesis event as Lambda delivers it, carrying KPL aggregates written by aws-kinesis-agg (the
 * KPL's own format, made by another implementation than ours): a plain aggregate; a gzip envelope
 * around an aggregate; an aggregate of snappy-compressed records; a snappy envelope around an
 * aggregate; a snappy envelope whose payload is corrupt (poison); a record the handler fails; one
 * after it, which the per-record form must not deliver.
 */
async function kplEvent() {
  const users = (prefix: string) =>
    Array.from({ length: 4 }, (_, i) => ({
      partitionKey: `${prefix}-key-${i}`,
      data: Buffer.from(`${prefix}${i} `.repeat(i * 40 + 1)),
    }));
  const one = async (records: { partitionKey: string; data: Uint8Array }[]) => {
    const encoded = await theirAggregate(records);
    expect(encoded).toHaveLength(1);
    return encoded[0]!.data;
  };
  const corrupt = Buffer.from(compress(Buffer.from('poison '.repeat(100)), 'snappy'));
  corrupt.fill(0xff, 11, 20);
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(users) as [
    ReturnType<typeof users>,
    ReturnType<typeof users>,
    ReturnType<typeof users>,
    ReturnType<typeof users>,
  ];
  const payloads: Buffer[] = [
    await one(a),
    Buffer.from(compress(await one(b), 'gzip')),
    await one(c.map((u) => ({ ...u, data: compress(u.data, 'snappy') }))),
    Buffer.from(compress(await one(d), 'snappy')),
    corrupt,
    Buffer.from('fail-me'),
    Buffer.from('after the failure'),
  ];
  const shardId = 'shardId-000000000000';
  const sequence = (i: number) => `4966${String(i).padStart(52, '0')}`;
  const event = {
    Records: payloads.map((data, i) => ({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: i < 4 ? 'a' : `plain-${i}`,
        sequenceNumber: sequence(i),
        data: data.toString('base64'),
        approximateArrivalTimestamp: 1_764_580_000 + i,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${sequence(i)}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/lambda-role',
      awsRegion: 'eu-west-1',
      eventSourceARN: 'arn:aws:kinesis:eu-west-1:123456789012:stream/orders',
    })),
  };
  const expected = [a, b, c, d].flatMap((group) =>
    group.map((u, sub) => ({ key: u.partitionKey, text: u.data.toString(), sub })),
  );
  return { event, expected, failing: sequence(5) };
}
