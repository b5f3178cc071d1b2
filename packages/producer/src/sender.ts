import {
  PutRecordsCommand,
  type KinesisClient,
  type PutRecordsCommandOutput,
} from '@aws-sdk/client-kinesis';
import type { KinesisRecord } from './kinesis-record';

/** How one PutRecords call ended: the service's answer, or the error the call failed with. */
export type CallResult =
  | { ok: true; out: PutRecordsCommandOutput; startedAt: number; durationMs: number }
  | { ok: false; error: unknown; startedAt: number; durationMs: number };

export interface SenderOptions {
  streamName: string | undefined;
  streamArn: string | undefined;
  maxConnections: number;
  requestTimeout: number;
}

/**
 * Sends PutRecords calls, at most `maxConnections` at once (the rest wait in order), each with
 * the request timeout, and hands every call's result to the retrier. It makes one try per call:
 * retrying is the retrier's job, and a backoff never holds a connection slot. While a call is out,
 * its user records are marked in flight, so the expiry does not fail them under it.
 */
export class Sender {
  private inFlight = 0;
  private readonly waiting: KinesisRecord[][] = [];

  constructor(
    private readonly client: KinesisClient,
    private readonly options: SenderOptions,
    private readonly onResult: (batch: KinesisRecord[], result: CallResult) => void,
    /**
     * The last look at each Kinesis record as its call starts: returns it, a copy rebuilt without
     * user records that finished while it waited (expired), or undefined to leave it out. From
     * here on its records are in flight, so nothing reported expired is ever sent.
     */
    private readonly admit: (record: KinesisRecord) => KinesisRecord | undefined = (r) => r,
  ) {}

  /** Calls in flight and waiting for a connection. */
  get pending(): number {
    return this.inFlight + this.waiting.length;
  }

  send(batch: KinesisRecord[]): void {
    if (this.inFlight >= this.options.maxConnections) {
      this.waiting.push(batch);
      return;
    }
    const entries: KinesisRecord[] = [];
    for (const e of batch) {
      const admitted = this.admit(e);
      if (admitted) entries.push(admitted);
    }
    if (entries.length === 0) return;
    this.inFlight++;
    void this.call(entries).then((result) => {
      this.inFlight--;
      const next = this.waiting.shift();
      if (next) this.send(next);
      this.onResult(entries, result);
    });
  }

  private async call(batch: KinesisRecord[]): Promise<CallResult> {
    mark(batch, true);
    const o = this.options;
    const startedAt = Date.now();
    try {
      const out = await this.client.send(
        new PutRecordsCommand({
          ...(o.streamName ? { StreamName: o.streamName } : {}),
          ...(o.streamArn ? { StreamARN: o.streamArn } : {}),
          Records: batch.map((e) => ({
            PartitionKey: e.partitionKey,
            ExplicitHashKey: e.explicitHashKey,
            Data: e.data,
          })),
        }),
        { abortSignal: AbortSignal.timeout(o.requestTimeout) },
      );
      return { ok: true, out, startedAt, durationMs: Date.now() - startedAt };
    } catch (error) {
      return { ok: false, error, startedAt, durationMs: Date.now() - startedAt };
    } finally {
      mark(batch, false);
    }
  }
}

function mark(batch: KinesisRecord[], inFlight: boolean): void {
  for (const e of batch) for (const r of e.records) r.inFlight = inFlight;
}
