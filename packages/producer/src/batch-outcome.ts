import type { PutOutcome } from './outcome';
import type { OutcomeBatch } from './user-record';

/** The outcomes of one `putMany` call, gathered into one promise that resolves when the last arrives. */
export class BatchOutcome implements OutcomeBatch {
  readonly promise: Promise<PutOutcome[]>;
  private readonly outcomes: PutOutcome[];
  private remaining: number;
  private resolve!: (outcomes: PutOutcome[]) => void;

  constructor(size: number) {
    this.outcomes = new Array<PutOutcome>(size);
    this.remaining = size;
    this.promise = new Promise((resolve) => (this.resolve = resolve));
    if (size === 0) this.resolve(this.outcomes);
  }

  settle(index: number, outcome: PutOutcome): void {
    this.outcomes[index] = outcome;
    if (--this.remaining === 0) this.resolve(this.outcomes);
  }
}
