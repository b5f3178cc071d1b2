import type { AddressInfo, Socket } from 'node:net';
import dynalite from 'dynalite';

/** A running in-process DynamoDB (dynalite). */
export interface DynamoDBLocal {
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts dynalite in this process, in memory, with table changes taking no time. */
export async function startDynamoDBLocal(port = 0): Promise<DynamoDBLocal> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  let stopped: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    stop: () => {
      // Keep-alive sockets from clients would hold close() open: end them, so nothing lingers.
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return stopped;
    },
  };
}
