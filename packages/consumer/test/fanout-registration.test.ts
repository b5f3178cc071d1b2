import {
  DescribeStreamConsumerCommand,
  type KinesisClient,
  RegisterStreamConsumerCommand,
} from '@aws-sdk/client-kinesis';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { FanoutRegistrationError } from '../src/retrieval/fanout/errors';
import { ensureStreamConsumer } from '../src/retrieval/fanout/registration';

const logger = pino({ level: 'silent' });
const named = (name: string) => Object.assign(new Error(name), { name });

/** A scripted control plane: each Describe/Register call takes the next answer of its script. */
function controlPlane(describe: (() => unknown)[], register: (() => unknown)[] = []) {
  const calls: string[] = [];
  const client = {
    send: async (command: unknown) => {
      if (command instanceof DescribeStreamConsumerCommand) {
        calls.push('describe');
        // The last answer repeats once the script is used up.
        const answer = describe.length > 1 ? describe.shift()! : describe[0]!;
        return answer();
      }
      if (command instanceof RegisterStreamConsumerCommand) {
        calls.push('register');
        return (register.shift() ?? (() => ({})))();
      }
      throw new Error('unexpected command');
    },
  } as unknown as KinesisClient;
  return { client, calls };
}

const status = (ConsumerStatus: string) => () => ({
  ConsumerDescription: { ConsumerARN: 'arn:c', ConsumerStatus },
});
const absent = () => {
  throw named('ResourceNotFoundException');
};
const input = (client: KinesisClient, timeoutMs = 5000) => ({
  client,
  streamArn: 'arn:s',
  consumerName: 'app',
  timeoutMs,
  signal: new AbortController().signal,
  logger,
});

describe('stream consumer registration', () => {
  it('registers an absent consumer and waits until it is ACTIVE', async () => {
    const { client, calls } = controlPlane([absent, status('CREATING'), status('ACTIVE')]);
    expect(await ensureStreamConsumer(input(client))).toBe('arn:c');
    expect(calls).toEqual(['describe', 'register', 'describe', 'describe']);
  });

  it('an existing ACTIVE consumer is used as is', async () => {
    const { client, calls } = controlPlane([status('ACTIVE')]);
    expect(await ensureStreamConsumer(input(client))).toBe('arn:c');
    expect(calls).toEqual(['describe']);
  });

  it("losing the registration race (ResourceInUse) is success: it waits for the winner's consumer", async () => {
    const { client, calls } = controlPlane(
      [absent, status('ACTIVE')],
      [
        () => {
          throw named('ResourceInUseException');
        },
      ],
    );
    expect(await ensureStreamConsumer(input(client))).toBe('arn:c');
    expect(calls).toEqual(['describe', 'register', 'describe']);
  });

  it('a consumer being deleted is waited out, then registered again', async () => {
    const { client, calls } = controlPlane([status('DELETING'), absent, status('ACTIVE')]);
    expect(await ensureStreamConsumer(input(client))).toBe('arn:c');
    expect(calls).toEqual(['describe', 'describe', 'register', 'describe']);
  });

  it('a refusal is a typed error naming the service code', async () => {
    const { client } = controlPlane(
      [absent],
      [
        () => {
          throw named('AccessDeniedException');
        },
      ],
    );
    const error = await ensureStreamConsumer(input(client)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FanoutRegistrationError);
    expect(error).toMatchObject({
      code: 'FANOUT_REGISTRATION_FAILED',
      serviceCode: 'AccessDeniedException',
      consumerName: 'app',
    });
  });

  it('a consumer that never becomes ACTIVE fails with FANOUT_CONSUMER_NOT_ACTIVE', async () => {
    const { client } = controlPlane([status('CREATING')]);
    const error = await ensureStreamConsumer(input(client, 150)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FanoutRegistrationError);
    expect(error).toMatchObject({ code: 'FANOUT_CONSUMER_NOT_ACTIVE' });
    expect((error as Error).message).toContain('CREATING');
  });
});
