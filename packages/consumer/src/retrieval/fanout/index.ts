// Placeholder so the coordinator compiles while enhanced fan-out is being written (issue 6).
import type { Retrieval } from '../types';

/** Options of enhanced fan-out retrieval. */
export interface FanoutRetrievalOptions {
  mode: 'fanout';
  /** Name of the registered stream consumer (RegisterStreamConsumer). */
  consumerName: string;
}

export function createFanoutRetrieval(_options: FanoutRetrievalOptions): Retrieval {
  throw new Error('enhanced fan-out is not implemented yet');
}
