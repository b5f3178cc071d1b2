/**
 * The program kinesis-local runs inside (`node -e WATCHDOG main.js`). It is a string, not a file,
 * so the built package carries it without a second entry point.
 *
 * Why each part is there:
 * - kinesis-local is a Scala.js app on cats-effect's `IOApp`, which **replaces `process.exit`**
 *   and installs `SIGTERM`/`SIGINT` handlers with a graceful cancellation of its main fiber. That
 *   cancellation can hang for ever (seen when the owner dies just after start-up: the servers are
 *   closed, the process stays, ~170 MB, deaf to `SIGTERM`). The earlier watchdog called the
 *   replaced `process.exit`, so its "exit when stdin ends" became "start a shutdown that may never
 *   end". This one keeps the real `process.exit`, taken before kinesis-local loads, and uses it on
 *   every way out: stdin end or error (the owner died, even by `kill -9`: the OS closes its end of
 *   the pipe), `SIGTERM`/`SIGINT`, and a re-parented process (the owner is gone, whatever stdin
 *   says).
 * - Ports are chosen by the OS at bind time, never handed over beforehand (a port found free and
 *   closed again can be taken by anyone before kinesis-local binds it). kinesis-local is given
 *   the sentinel ports 1 (TLS) and 2 (plain); `listen` is wrapped so that those become the ports
 *   the owner asked for (0: any), bound on 127.0.0.1 only (kinesis-local itself binds every
 *   interface), and each bound port is reported on fd 3 as one JSON line.
 */
export const WATCHDOG = `
'use strict';
const exit = process.exit.bind(process);
const fs = require('fs');
const net = require('net');
const die = () => exit(0);
process.stdin.on('end', die);
process.stdin.on('error', die);
process.stdin.on('close', die);
process.stdin.resume();
process.on('SIGTERM', die);
process.on('SIGINT', die);
const owner = process.ppid;
setInterval(() => { if (process.ppid !== owner) die(); }, 250).unref();
const wanted = { 1: ['tls', Number(process.env.SHARDLINE_TLS_PORT || 0)], 2: ['plain', Number(process.env.SHARDLINE_PLAIN_PORT || 0)] };
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (port, ...rest) {
  const target = typeof port === 'number' ? wanted[port] : undefined;
  if (!target) return listen.call(this, port, ...rest);
  const callback = rest.find((arg) => typeof arg === 'function');
  this.once('listening', () => {
    try { fs.writeSync(3, JSON.stringify({ listening: target[0], port: this.address().port }) + '\\n'); } catch { die(); }
  });
  return listen.call(this, { port: target[1], host: '127.0.0.1' }, callback);
};
require(process.argv[1]);
`;

/** Environment marker every kinesis-local started by this package carries (see `findEmulatorProcesses`). */
export const EMULATOR_MARKER = 'SHARDLINE_EMULATOR';

/** kinesis-local's port settings, pointing at the sentinels the watchdog maps. */
export const SENTINEL_PORTS = { KINESIS_MOCK_TLS_PORT: '1', KINESIS_MOCK_PLAIN_PORT: '2' } as const;
