import snappyjs from 'snappyjs';

/**
 * One snappy implementation: the raw block format (no framing), both directions. The native addon
 * and the pure-JS code below read and write the same bytes; `compression.ts` uses whichever
 * `snappy.ts` picked.
 */
export interface SnappyCodec {
  readonly name: 'native' | 'js';
  compress(data: Uint8Array): Uint8Array;
  /**
   * Decodes a raw snappy block whose preamble the caller has read and checked: `length` is what it
   * declares. Throws on any malformed input.
   */
  uncompress(payload: Uint8Array, length: number): Uint8Array;
}

/** The uncompressed length a raw snappy block starts with (a varint of at most 32 bits). */
export interface SnappyPreamble {
  length: number;
  /** Bytes the varint takes: the encoded elements start here. */
  bytes: number;
}

/** Reads the preamble, or returns undefined when it is not a varint of at most 32 bits. */
export function readSnappyPreamble(payload: Uint8Array): SnappyPreamble | undefined {
  let length = 0;
  for (let i = 0, shift = 1; i < 5 && i < payload.length; i++, shift *= 128) {
    const byte = payload[i]!;
    length += (byte & 0x7f) * shift;
    if (byte < 0x80) return length <= 0xffffffff ? { length, bytes: i + 1 } : undefined;
  }
  return undefined;
}

/**
 * The pure-JS implementation: used when the native addon cannot be loaded (a bundle, an install
 * without optional dependencies, a platform without a prebuilt binary).
 *
 * Compression is snappyjs's. Decompression is ours: snappyjs's decoder does not bound its reads
 * and writes, so a 6-byte hostile block (a literal whose 32-bit length is negative) loops forever
 * and a truncated block comes back zero-padded instead of failing. This one checks every element
 * against both buffers, as the native decoder does, and fails on the first bad one.
 */
export const jsSnappy: SnappyCodec = {
  name: 'js',
  // snappyjs returns the same type it is given; a Buffer keeps the result a Buffer.
  compress: (data) => snappyjs.compress(asBuffer(data)),
  uncompress: uncompressBlock,
};

function uncompressBlock(payload: Uint8Array, length: number): Uint8Array {
  const preamble = readSnappyPreamble(payload);
  if (preamble === undefined || preamble.length !== length) {
    throw new Error('snappy preamble is not the declared length');
  }
  // Every byte is written before the buffer is returned (the loop ends at exactly `length`), so
  // skipping the zero fill leaks nothing.
  const out = Buffer.allocUnsafe(length);
  const end = payload.length;
  let pos = preamble.bytes;
  let outPos = 0;
  while (pos < end) {
    const tag = payload[pos++]!;
    const type = tag & 3;
    let len: number;
    if (type === 0) {
      // Literal: length − 1 in the tag's upper six bits, or in the 1–4 bytes after it (60–63).
      len = tag >>> 2;
      if (len >= 60) {
        const extra = len - 59;
        if (pos + extra > end) throw new Error('snappy literal length runs past the input');
        len = readLittleEndian(payload, pos, extra);
        pos += extra;
      }
      len += 1;
      if (len > end - pos) throw new Error('snappy literal runs past the input');
      if (len > length - outPos) throw new Error('snappy literal runs past the declared length');
      // Short runs byte by byte: a subarray and a set() cost more than the copy itself.
      if (len < 32) for (let i = 0; i < len; i++) out[outPos + i] = payload[pos + i]!;
      else out.set(payload.subarray(pos, pos + len), outPos);
      pos += len;
      outPos += len;
      continue;
    }
    // Copy of `len` bytes from `offset` bytes back in the output.
    let offset: number;
    if (type === 1) {
      if (pos + 1 > end) throw new Error('snappy copy runs past the input');
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | payload[pos]!;
      pos += 1;
    } else if (type === 2) {
      if (pos + 2 > end) throw new Error('snappy copy runs past the input');
      len = (tag >>> 2) + 1;
      offset = payload[pos]! | (payload[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 4 > end) throw new Error('snappy copy runs past the input');
      len = (tag >>> 2) + 1;
      offset = readLittleEndian(payload, pos, 4);
      pos += 4;
    }
    if (offset === 0 || offset > outPos) throw new Error('snappy copy offset is out of range');
    if (len > length - outPos) throw new Error('snappy copy runs past the declared length');
    if (offset >= len && len >= 32) {
      out.copyWithin(outPos, outPos - offset, outPos - offset + len);
    } else {
      // Byte by byte: short copies (most of them, at most 64 bytes each) and overlapping ones,
      // which repeat the last `offset` bytes and must read what they have just written.
      for (let i = 0, from = outPos - offset; i < len; i++) out[outPos + i] = out[from + i]!;
    }
    outPos += len;
  }
  if (outPos !== length) {
    throw new Error(`snappy block decodes to ${outPos} bytes; its preamble declares ${length}`);
  }
  return out;
}

/** An unsigned little-endian integer of 1–4 bytes (no sign bit, unlike `|` and `<<` on 32 bits). */
function readLittleEndian(bytes: Uint8Array, at: number, count: number): number {
  let value = 0;
  for (let i = count - 1; i >= 0; i--) value = value * 256 + bytes[at + i]!;
  return value;
}

/** A Buffer view of `data`, no copy. */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
