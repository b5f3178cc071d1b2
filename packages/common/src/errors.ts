/**
 * The error base every Shardline package extends, so a caller can tell our errors from others with
 * one `instanceof` and switch on a stable `code` rather than on message text.
 */
export class ShardlineError extends Error {
  /** Stable, machine-readable cause, e.g. `PARTITION_KEY_EMPTY`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A user record that Kinesis would refuse: bad partition key, bad explicit hash key, data that is not bytes. */
export class InvalidRecordError extends ShardlineError {}

/** A record (or a record plus the aggregate overhead) larger than the configured limit. */
export class RecordTooLargeError extends ShardlineError {
  /** Bytes the record counts toward the limit (data plus partition key). */
  readonly size: number;
  /** The limit it was measured against. */
  readonly limit: number;

  constructor(size: number, limit: number, message?: string) {
    super(
      'RECORD_TOO_LARGE',
      message ?? `record is ${size} bytes (data + partition key); the limit is ${limit} bytes`,
    );
    this.size = size;
    this.limit = limit;
  }
}

/** Which check a KPL aggregate failed. */
export type CorruptAggregateKind = 'md5' | 'truncated' | 'protobuf' | 'index';

/** A record that starts with the KPL magic but is not a valid aggregate. */
export class CorruptAggregateError extends ShardlineError {
  readonly kind: CorruptAggregateKind;
  /** Sequence number of the Kinesis record that carried it, when known. */
  readonly sequenceNumber: string | undefined;

  constructor(kind: CorruptAggregateKind, message: string, sequenceNumber?: string) {
    super(`CORRUPT_AGGREGATE_${kind.toUpperCase()}`, message);
    this.kind = kind;
    this.sequenceNumber = sequenceNumber;
  }
}

/** Which check a compression envelope failed. */
export type CompressionErrorKind =
  | 'unknown-codec'
  | 'unknown-version'
  | 'corrupt'
  | 'truncated'
  | 'too-large';

/** A compression envelope that cannot be opened. */
export class CompressionError extends ShardlineError {
  readonly kind: CompressionErrorKind;

  constructor(kind: CompressionErrorKind, message: string, options?: { cause?: unknown }) {
    super(`COMPRESSION_${kind.toUpperCase().replace(/-/g, '_')}`, message, options);
    this.kind = kind;
  }
}

/** An option or configuration value that cannot work. Thrown by constructors, before any I/O. */
export class ConfigError extends ShardlineError {
  constructor(message: string, code = 'INVALID_CONFIG') {
    super(code, message);
  }
}
