// Real S3-compatible store for the playground: s3rver on loopback with one bucket.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { S3Handle } from './types.js';

// s3rver ships no type declarations; this is the part of its API we use.
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverCtor;

export async function startS3(opts: { dir: string }): Promise<S3Handle> {
  mkdirSync(opts.dir, { recursive: true });
  const server = new S3rver({
    port: 0, // the OS picks a free port
    address: '127.0.0.1',
    directory: opts.dir,
    silent: true,
    configureBuckets: [{ name: 'backups', configs: [] }],
  });
  const { port } = await server.run();
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: 'backups',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    directory: opts.dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      const closing = server.close();
      server.httpServer?.closeAllConnections(); // barman's keep-alive sockets would hold close() open
      await closing;
    },
  };
}
