import { ShardlineError } from '@shardline/aggregation';

/** A bad command line: unknown command or flag, missing or malformed value. Exit code 2. */
export class UsageError extends ShardlineError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** Input records that cannot be read (bad NDJSON line, missing file). Exit code 1. */
export class InputError extends ShardlineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INPUT_INVALID', message, options);
  }
}

/** A backend that cannot be reached or lacks what the command needs (stream missing). Exit code 1. */
export class BackendError extends ShardlineError {
  constructor(
    code: 'BACKEND_UNREACHABLE' | 'STREAM_NOT_FOUND' | 'BACKEND_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
