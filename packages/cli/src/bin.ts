#!/usr/bin/env node
import { runCli } from './run';

// The process edge: signals, exit codes. Everything else is in runCli, which tests drive directly.
// The SDK's Node-version advisory is not ours to print on every run; a user can set it to false.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const controller = new AbortController();
let signals = 0;
const onSignal = (name: NodeJS.Signals) => {
  signals++;
  if (signals === 1) {
    process.stderr.write(
      `\nshardline: ${name} received, stopping gracefully (again to force)...\n`,
    );
    controller.abort(new Error(name));
  } else {
    process.stderr.write(`shardline: ${name} again, exiting now without waiting\n`);
    process.exit(130);
  }
};
// `shardline consume --print | head`: a closed pipe ends the run gracefully, not with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') controller.abort(new Error('stdout closed'));
});
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  signal: controller.signal,
}).then(
  (code) => {
    process.exitCode = code;
    // Let stdout drain, then leave even if a library kept a handle open: the work is done.
    process.stdout.write('', () => setTimeout(() => process.exit(code), 50).unref());
  },
  (error: unknown) => {
    process.stderr.write(`shardline: ${(error as Error)?.message ?? String(error)}\n`);
    process.exit(1);
  },
);
