import type { Backend } from './backend';
import { ServiceError } from './service-error';
import type { StreamConsumer, StreamState } from './streams';

/** The stream a consumer ARN (`<stream ARN>/consumer/<name>:<epoch>`) belongs to, and the consumer. */
export function consumerByArn(
  backend: Backend,
  consumerArn: unknown,
): { stream: StreamState; consumer: StreamConsumer } {
  const arn = String(consumerArn);
  const at = arn.indexOf('/consumer/');
  const streamArn = at < 0 ? '' : arn.slice(0, at);
  const stream = at < 0 ? undefined : backend.streams.of({ StreamARN: streamArn });
  const consumer = [...(stream?.consumers.values() ?? [])].find((c) => c.arn === arn);
  if (!stream || !consumer)
    throw new ServiceError('ResourceNotFoundException', `consumer ${arn} not found`);
  return { stream, consumer };
}

function named(backend: Backend, input: Record<string, unknown>) {
  if (typeof input.ConsumerARN === 'string') return consumerByArn(backend, input.ConsumerARN);
  const stream = backend.streams.of(input);
  const consumer = stream.consumers.get(String(input.ConsumerName));
  if (!consumer)
    throw new ServiceError(
      'ResourceNotFoundException',
      `consumer ${String(input.ConsumerName)} of ${stream.name} not found`,
    );
  return { stream, consumer };
}

function describe(stream: StreamState, c: StreamConsumer) {
  return {
    ConsumerName: c.name,
    ConsumerARN: c.arn,
    ConsumerStatus: 'ACTIVE',
    ConsumerCreationTimestamp: c.createdAt / 1000,
    StreamARN: stream.arn,
  };
}

/** RegisterStreamConsumer: ACTIVE at once; a name already registered is ResourceInUseException. */
export function registerStreamConsumer(backend: Backend, input: Record<string, unknown>): string {
  const stream = backend.streams.of(input);
  const name = String(input.ConsumerName);
  if (stream.consumers.has(name))
    throw new ServiceError('ResourceInUseException', `consumer ${name} exists`);
  const createdAt = Date.now();
  const consumer = {
    name,
    arn: `${stream.arn}/consumer/${name}:${Math.floor(createdAt / 1000)}`,
    createdAt,
  };
  stream.consumers.set(name, consumer);
  const { StreamARN: _stream, ...out } = describe(stream, consumer);
  return JSON.stringify({ Consumer: out });
}

export function describeStreamConsumer(backend: Backend, input: Record<string, unknown>): string {
  const { stream, consumer } = named(backend, input);
  return JSON.stringify({ ConsumerDescription: describe(stream, consumer) });
}

export function deregisterStreamConsumer(backend: Backend, input: Record<string, unknown>): string {
  const { stream, consumer } = named(backend, input);
  stream.consumers.delete(consumer.name);
  return '{}';
}

export function listStreamConsumers(backend: Backend, input: Record<string, unknown>): string {
  const stream = backend.streams.of(input);
  return JSON.stringify({
    Consumers: [...stream.consumers.values()].map((c) => {
      const { StreamARN: _stream, ...out } = describe(stream, c);
      return out;
    }),
  });
}
