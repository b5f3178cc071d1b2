// One measured run of a consumer: started, left until the bench's condition, stopped.

/**
 * Starts `consumer`, waits for `done`, stops the consumer and destroys `clients` (the run's own
 * SDK clients), and gives what `done` gave.
 */
export async function runConsumerUntil<T>(
  consumer: { start(): Promise<unknown>; stop(): Promise<unknown> },
  done: Promise<T>,
  ...clients: { destroy(): void }[]
): Promise<T> {
  await consumer.start();
  const result = await done;
  await consumer.stop();
  for (const client of clients) client.destroy();
  return result;
}
