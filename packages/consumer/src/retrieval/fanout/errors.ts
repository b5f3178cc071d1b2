import { ShardlineError } from '@shardline/aggregation';

/**
 * The stream consumer could not be registered or did not become ACTIVE. `code` is
 * `FANOUT_REGISTRATION_FAILED` (the service refused; `serviceCode` says why) or
 * `FANOUT_CONSUMER_NOT_ACTIVE` (still not ACTIVE after `registrationTimeoutMs`).
 */
export class FanoutRegistrationError extends ShardlineError {
  constructor(
    code: 'FANOUT_REGISTRATION_FAILED' | 'FANOUT_CONSUMER_NOT_ACTIVE',
    readonly consumerName: string,
    readonly serviceCode: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, `stream consumer ${consumerName}: ${message}`, options);
  }
}
