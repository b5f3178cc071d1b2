import { UsageError } from '../errors';
import type { ConsumeArgs } from './types';

/** True for an absolute http(s) URL. */
export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** `SHARD=SEQ` or `SHARD=SEQ/SUB` (SUB ≥ -1; -1 is before the record). */
export function parseSequenceSpec(
  value: string,
): [string, { sequenceNumber: string; subSequenceNumber: number }] {
  const match = /^([^=\s]+)=(\d{1,128})(?:\/(-1|\d+))?$/.exec(value.trim());
  if (!match)
    throw new UsageError(
      `--sequence must be SHARD=SEQUENCE or SHARD=SEQUENCE/SUB, got ${JSON.stringify(value)}`,
    );
  return [match[1]!, { sequenceNumber: match[2]!, subSequenceNumber: Number(match[3] ?? 0) }];
}

/** An application name; it names the lease table, hence DynamoDB's rules. */
export function checkAppName(app: string, command: string): string {
  if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(app))
    throw new UsageError(
      `${command}: --app must be 3-255 characters of [a-zA-Z0-9_.-] (it names the lease table)`,
    );
  return app;
}

/** A Kinesis stream name, checked before any call so a typo is a usage error. */
export function checkStreamName(name: string): string {
  if (!/^[a-zA-Z0-9_.-]{1,128}$/.test(name))
    throw new UsageError(
      `--stream ${JSON.stringify(name)} is not a valid Kinesis stream name (1-128 characters of [a-zA-Z0-9_.-])`,
    );
  return name;
}

/** `--compress`: the codecs the producer offers. */
export function codec(value: string, command: string): 'gzip' | 'snappy' {
  if (value !== 'gzip' && value !== 'snappy')
    throw new UsageError(
      `${command}: --compress must be gzip or snappy, got ${JSON.stringify(value)}`,
    );
  return value;
}

/** A positive integer; `_` and `,` separators allowed (`100_000`, `20,000`). */
export function positiveInt(value: string, flag: string): number {
  const n = Number(value.replace(/[_,]/g, ''));
  if (!/^[\d_,]+$/.test(value) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `30s`, `2m`, `1h`; a bare number is seconds. Returns milliseconds. */
export function parseDuration(value: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match)
    throw new UsageError(
      `${flag} must be a duration like 500ms, 30s, 2m or 1h, got ${JSON.stringify(value)}`,
    );
  const ms = Math.round(Number(match[1]) * DURATION_UNITS[match[2] ?? 's']!);
  if (ms <= 0) throw new UsageError(`${flag} must be longer than 0, got ${JSON.stringify(value)}`);
  return ms;
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 * 1024,
  mb: 1024 * 1024,
  mib: 1024 * 1024,
};

/** `100`, `512b`, `4k`/`4kb`/`4KiB`, `1m`: binary units. Returns bytes. */
export function parseBytes(value: string, flag: string): number {
  const match = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
  const unit = match ? BYTE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined || Number(match[1]) < 1)
    throw new UsageError(
      `${flag} must be a size like 100, 4k or 1m (bytes), got ${JSON.stringify(value)}`,
    );
  return Number(match[1]) * unit;
}

/** `500`, `500/s`, `30000/m`: records per second. */
export function parseRate(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(?:\/(s|m))?$/.exec(value.trim());
  const n = match ? Number(match[1]) * (match[2] === 'm' ? 1 / 60 : 1) : Number.NaN;
  if (!match || !(n > 0))
    throw new UsageError(
      `--rate must be records per second like 500 or 500/s, got ${JSON.stringify(value)}`,
    );
  return n;
}

/** `trim-horizon`, `latest`, or a timestamp (ISO 8601, or seconds since the epoch). */
export function parseFrom(value: string, flag = '--from'): ConsumeArgs['from'] {
  const v = value.trim().toLowerCase();
  if (v === 'trim-horizon' || v === 'trim_horizon') return 'TRIM_HORIZON';
  if (v === 'latest') return 'LATEST';
  const timestamp = /^\d+(\.\d+)?$/.test(v) ? new Date(Number(v) * 1000) : new Date(value);
  if (Number.isNaN(timestamp.getTime()) || !/\d{4}|^\d+/.test(value)) {
    throw new UsageError(
      `${flag} must be trim-horizon, latest, an ISO 8601 timestamp or epoch seconds, got ${JSON.stringify(value)}`,
    );
  }
  return { timestamp };
}

/** `name` or `name:shards` (default 1 shard). */
export function parseStreamSpec(value: string): { name: string; shards: number } {
  const [name = '', shards] = value.split(':');
  checkStreamName(name);
  return {
    name,
    shards: shards === undefined ? 1 : positiveInt(shards, `--stream ${name}: shard count`),
  };
}
