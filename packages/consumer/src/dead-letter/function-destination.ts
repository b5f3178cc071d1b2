import type { DeadLetterDestination } from './destination';
import type { DeadLetterRecord } from './format';

/**
 * A destination that is a function of the application's (SQS, S3, a database, anything): the
 * records count as acknowledged once the promise it returns resolves; a throw or a rejection is a
 * failed destination (the shard stops there and retries it).
 */
export function functionDestination(
  send: (records: readonly DeadLetterRecord[]) => unknown,
): DeadLetterDestination {
  return {
    kind: 'function',
    send: async (records) => {
      await send(records);
    },
    close: async () => {},
  };
}
