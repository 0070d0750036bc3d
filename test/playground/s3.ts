// Real S3-compatible store for the playground: s3rver on loopback with one bucket. s3rver lets
// every known key do everything; the playground can add read-only keys, refused every write with
// 403 AccessDenied as S3 refuses a key whose IAM policy grants only s3:GetObject and s3:ListBucket,
// and records which key sent each request (CONFORMANCE.md, section "creds").
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { S3Handle, S3Request } from './types.js';

// s3rver ships no type declarations; this is the part of its API we use.
interface S3rverInstance {
  middleware: Middleware[];
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface KoaContext {
  method: string;
  path: string;
  status: number;
  query: Record<string, string | string[] | undefined>;
  get(header: string): string;
}
const requireCjs = createRequire(import.meta.url);
const S3rver = requireCjs('s3rver') as S3rverCtor;
// s3rver's own error (rendered as S3's XML error body) and key registry (keys are looked up there).
const S3Error = requireCjs('s3rver/lib/models/error') as new (code: string, message: string) => Error;
const AWSAccount = requireCjs('s3rver/lib/models/account') as new (
  id: number,
  name: string,
) => { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
const READ_ONLY_ACCOUNT = new AWSAccount(123456789001, 'read-only');
/** What a key limited to s3:GetObject and s3:ListBucket may send: reads and listings. */
const READS = new Set(['GET', 'HEAD']);
const MAX_LOGGED = 100_000;

/** The access key of a signed request: V4 or V2, in the Authorization header or the query (presigned). */
export function accessKeyOf(authorization: string, query: KoaContext['query']): string | undefined {
  const q = (k: string) => (typeof query[k] === 'string' ? (query[k] as string) : undefined);
  return (
    /Credential=([^/,\s]+)\//.exec(authorization)?.[1] ??
    /^AWS ([^:\s]+):/.exec(authorization)?.[1] ??
    q('X-Amz-Credential')?.split('/')[0] ??
    q('AWSAccessKeyId')
  );
}

/** First middleware: records the key of each request and refuses writes by a read-only key. */
function accessPolicy(readOnly: Set<string>, log: S3Request[]): Middleware {
  return async (ctx, next) => {
    const accessKeyId = accessKeyOf(ctx.get('authorization'), ctx.query) ?? '';
    const entry: S3Request = { time: Date.now(), accessKeyId, method: ctx.method, path: ctx.path, status: 0 };
    log.push(entry);
    if (log.length > MAX_LOGGED) log.splice(0, log.length - MAX_LOGGED); // a long-lived playground stays bounded
    try {
      if (readOnly.has(accessKeyId) && !READS.has(ctx.method)) throw new S3Error('AccessDenied', 'Access Denied');
      await next();
      entry.status = ctx.status;
    } catch (err) {
      entry.status = (err as { status?: number }).status ?? 500;
      throw err;
    }
  };
}

export async function startS3(opts: { dir: string }): Promise<S3Handle> {
  mkdirSync(opts.dir, { recursive: true });
  const server = new S3rver({
    port: 0, // the OS picks a free port
    address: '127.0.0.1',
    directory: opts.dir,
    silent: true,
    configureBuckets: [{ name: 'backups', configs: [] }],
  });
  const readOnly = new Set<string>();
  const requests: S3Request[] = [];
  server.middleware.unshift(accessPolicy(readOnly, requests));
  const { port } = await server.run();
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: 'backups',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    directory: opts.dir,
    addReadOnlyKey(accessKeyId, secretAccessKey) {
      READ_ONLY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
      readOnly.add(accessKeyId);
    },
    requests: (since = 0) => requests.filter((r) => r.time >= since),
    async stop() {
      if (stopped) return;
      stopped = true;
      const closing = server.close();
      server.httpServer?.closeAllConnections(); // barman's keep-alive sockets would hold close() open
      await closing;
    },
  };
}
