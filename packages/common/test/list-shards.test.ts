import type { KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { listAllShards } from '../src/list-shards';

type Call = { input: ListShardsCommand['input']; signal: AbortSignal };

/** A client whose `send` answers ListShards from `pages` (by NextToken) and records each call. */
function scripted(answer: (call: Call) => Promise<unknown>) {
  const calls: Call[] = [];
  const client = {
    send: (command: ListShardsCommand, options: { abortSignal: AbortSignal }) => {
      const call = { input: command.input, signal: options.abortSignal };
      calls.push(call);
      return answer(call);
    },
  } as unknown as KinesisClient;
  return { client, calls };
}

describe('listAllShards', () => {
  it('follows NextToken, naming the stream on the first page only', async () => {
    const pages: Record<string, { Shards: { ShardId: string }[]; NextToken?: string }> = {
      first: { Shards: [{ ShardId: 'a' }, { ShardId: 'b' }], NextToken: 't1' },
      t1: { Shards: [{ ShardId: 'c' }], NextToken: 't2' },
      t2: { Shards: [] },
    };
    const { client, calls } = scripted(async ({ input }) => pages[input.NextToken ?? 'first']);
    const shards = await listAllShards(client, { streamName: 's', streamArn: 'arn:aws:x' });
    expect(shards.map((s) => s.ShardId)).toEqual(['a', 'b', 'c']);
    expect(calls.map((c) => c.input)).toEqual([
      { StreamName: 's', StreamARN: 'arn:aws:x' },
      { NextToken: 't1' },
      { NextToken: 't2' },
    ]);
  });

  it('aborts a page the service does not answer within the timeout, and rejects', async () => {
    const { client, calls } = scripted(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    await expect(
      listAllShards(client, { streamArn: 'arn:aws:x' }, { timeoutMs: 20 }),
    ).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect(calls).toHaveLength(1);
  });

  it("the caller's signal aborts the listing too", async () => {
    const controller = new AbortController();
    const { client, calls } = scripted(({ signal }) => {
      const pending = new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason)),
      );
      controller.abort(new Error('stopping'));
      return pending;
    });
    await expect(
      listAllShards(client, { streamName: 's' }, { timeoutMs: 60_000, signal: controller.signal }),
    ).rejects.toThrow('stopping');
    expect(calls[0]!.signal.aborted).toBe(true);
  });
});
