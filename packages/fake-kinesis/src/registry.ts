import { ServiceError } from './service-error';
import { newStream, type StreamState } from './streams';

/** The fake's streams by name, and how a request names one. */
export class StreamRegistry {
  private readonly streams = new Map<string, StreamState>();

  constructor(private readonly region: string) {}

  create(name: string, shardCount: number, mode: 'PROVISIONED' | 'ON_DEMAND'): StreamState {
    if (this.streams.has(name)) throw new Error(`stream ${name} exists`);
    const stream = newStream(name, shardCount, this.region, mode);
    this.streams.set(name, stream);
    return stream;
  }

  names(): string[] {
    return [...this.streams.keys()];
  }

  /** The stream called `name`, or the service's ResourceNotFoundException. */
  get(name: string): StreamState {
    const stream = this.streams.get(name);
    if (!stream)
      throw new ServiceError(
        'ResourceNotFoundException',
        `Stream ${name} under account 000000000000 not found.`,
      );
    return stream;
  }

  /** The stream a request names by `StreamName` or `StreamARN`. */
  of(input: Record<string, unknown>): StreamState {
    if (typeof input.StreamName === 'string') return this.get(input.StreamName);
    if (typeof input.StreamARN === 'string')
      return this.get(input.StreamARN.slice(input.StreamARN.lastIndexOf('/') + 1));
    throw new ServiceError('ValidationException', 'StreamName or StreamARN is required');
  }
}
