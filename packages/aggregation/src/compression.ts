import type * as Zlib from 'node:zlib';
import { CompressionError, ConfigError } from '@shardline/common';
import { snappyCodec } from './snappy';
import { asBuffer, readSnappyPreamble } from './snappy-js';
import { startsWith } from './wire';

/**
 * The compression envelope, byte by byte:
 *
 *   offset 0  4 bytes  magic D5 1E 5A 9C
 *   offset 4  1 byte   envelope version (1)
 *   offset 5  1 byte   codec id: 1 = gzip, 2 = snappy (raw block format)
 *   offset 6  4 bytes  uncompressed length, unsigned big-endian
 *   offset 10 ...      compressed payload
 *
 * The magic opens with D5 followed by a byte below 0x80: an invalid UTF-8 sequence, so no text or
 * JSON payload can be mistaken for an envelope; and it differs from the KPL magic F3 89 9A C2, so
 * a reader tells a compressed record from an aggregate by its first four bytes.
 */
export const ENVELOPE_MAGIC = Uint8Array.of(0xd5, 0x1e, 0x5a, 0x9c);
export const ENVELOPE_VERSION = 1;
export const ENVELOPE_HEADER_BYTES = 10;

/** Codecs the envelope carries. */
export type CompressionCodec = 'gzip' | 'snappy';

const CODEC_IDS: Record<CompressionCodec, number> = { gzip: 1, snappy: 2 };

/** Options of {@link decompress}. */
export interface DecompressOptions {
  /**
   * Largest uncompressed size accepted, in bytes, so a small hostile record cannot expand into
   * gigabytes. Default 64 MiB (six times the largest Kinesis record).
   */
  maxBytes?: number;
}

/** Default bound of {@link DecompressOptions.maxBytes}. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

/** True when `data` starts with the compression envelope's magic. */
export function isCompressed(data: Uint8Array): boolean {
  return startsWith(data, ENVELOPE_MAGIC);
}

/** Wraps `data` compressed with `codec` in the envelope. Works on user data and on whole aggregates. */
export function compress(data: Uint8Array, codec: CompressionCodec): Uint8Array {
  const id = CODEC_IDS[codec];
  if (id === undefined)
    throw new ConfigError(
      `unknown compression codec ${JSON.stringify(codec)}; use 'gzip' or 'snappy'`,
    );
  if (data.length > 0xffffffff)
    throw new ConfigError('data over 4 GiB cannot be compressed in the envelope');
  const payload = codec === 'gzip' ? zlib().gzipSync(data) : snappyCodec().compress(data);
  const out = Buffer.allocUnsafe(ENVELOPE_HEADER_BYTES + payload.length);
  out.set(ENVELOPE_MAGIC, 0);
  out[4] = ENVELOPE_VERSION;
  out[5] = id;
  out.writeUInt32BE(data.length, 6);
  out.set(payload, ENVELOPE_HEADER_BYTES);
  return out;
}

/**
 * Opens an envelope. Data without the envelope magic is returned unchanged, so a reader can call
 * this on every record. An envelope with an unknown version or codec, a corrupt or truncated
 * payload, or a declared size over `maxBytes` throws `CompressionError`.
 */
export function decompress(data: Uint8Array, options?: DecompressOptions): Uint8Array {
  if (!isCompressed(data)) return data;
  if (data.length < ENVELOPE_HEADER_BYTES) {
    throw new CompressionError(
      'truncated',
      `compression envelope is ${data.length} bytes, shorter than its header`,
    );
  }
  const buffer = asBuffer(data);
  const version = buffer[4]!;
  if (version !== ENVELOPE_VERSION) {
    throw new CompressionError(
      'unknown-version',
      `compression envelope version ${version} is not supported (expected ${ENVELOPE_VERSION})`,
    );
  }
  const codecId = buffer[5]!;
  const declared = buffer.readUInt32BE(6);
  const maxBytes = options?.maxBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  if (declared > maxBytes) {
    throw new CompressionError(
      'too-large',
      `envelope declares ${declared} uncompressed bytes; the limit is ${maxBytes}`,
    );
  }
  const payload = buffer.subarray(ENVELOPE_HEADER_BYTES);
  let out: Uint8Array;
  try {
    if (codecId === CODEC_IDS.gzip) {
      out = zlib().gunzipSync(payload, { maxOutputLength: Math.max(declared, 1) });
    } else if (codecId === CODEC_IDS.snappy) {
      // Both decoders allocate what the snappy preamble says; check it against the bound first.
      const preamble = readSnappyPreamble(payload)?.length ?? -1;
      if (preamble !== declared) {
        throw new CompressionError(
          'corrupt',
          `snappy payload declares ${preamble} bytes; the envelope declares ${declared}`,
        );
      }
      out = snappyCodec().uncompress(payload, declared);
    } else {
      throw new CompressionError(
        'unknown-codec',
        `compression codec id ${codecId} is unknown (1 = gzip, 2 = snappy)`,
      );
    }
  } catch (cause) {
    if (cause instanceof CompressionError) throw cause;
    throw new CompressionError(
      'corrupt',
      `compressed payload cannot be decoded: ${(cause as Error).message}`,
      { cause },
    );
  }
  if (out.length !== declared) {
    throw new CompressionError(
      'corrupt',
      `payload decompressed to ${out.length} bytes; the envelope declares ${declared}`,
    );
  }
  return out;
}

/**
 * Node's zlib, loaded on the first gzip envelope rather than at import: loading it costs about
 * 4 ms of CPU, a quarter of what the Lambda entry may add to a cold start, and most functions
 * never see a gzip envelope.
 */
function zlib(): typeof Zlib {
  return (zlibModule ??= process.getBuiltinModule('node:zlib'));
}
let zlibModule: typeof Zlib | undefined;
