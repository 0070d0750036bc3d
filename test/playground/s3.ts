// Real S3-compatible store for the playground: s3rver on loopback with one bucket. s3rver lets
// every known key do everything and checks no SigV4 signature; the playground can add read-only
// keys, whose signatures are checked and whose writes are refused with 403 AccessDenied, as S3
// refuses a key whose IAM policy grants only s3:GetObject and s3:ListBucket, and it records which
// key sent each request (CONFORMANCE.md, section "creds").
import { createHash, createHmac } from 'node:crypto';
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
  originalUrl: string;
  headers: Record<string, string | string[] | undefined>;
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

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const hmac = (key: string | Buffer, s: string) => createHmac('sha256', key).update(s).digest();
/** RFC 3986 encoding, as SigV4 canonicalizes query names and values. */
const uriEncode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** A request's parts SigV4 signs: method, the URL as sent (path and query), the headers (lower-case names). */
export interface SignedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * The SigV4 signature S3 expects for a request signed in the Authorization header with this secret key
 * (undefined when the header is not SigV4): canonical request, string to sign, derived signing key.
 */
export function sigV4Signature(req: SignedRequest, secretAccessKey: string): string | undefined {
  const header = (h: string) => String(req.headers[h] ?? '');
  const auth =
    /^AWS4-HMAC-SHA256 Credential=[^/]+\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+),/.exec(
      header('authorization'),
    );
  if (!auth) return undefined;
  const [, date, region, service, signed] = auth;
  const [path, query = ''] = req.url.split(/\?(.*)/s);
  const canonicalQuery = query
    .split('&')
    .filter(Boolean)
    .map((p) => p.split(/=(.*)/s).map((x = '') => uriEncode(decodeURIComponent(x.replace(/\+/g, ' ')))))
    .sort(([a, x = ''], [b, y = '']) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v = '']) => `${k}=${v}`)
    .join('&');
  const headers = signed.split(';').map((h) => `${h}:${header(h).trim().replace(/\s+/g, ' ')}\n`);
  const canonical = [req.method, path, canonicalQuery, headers.join(''), signed, header('x-amz-content-sha256')];
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', header('x-amz-date'), scope, sha256(canonical.join('\n'))].join('\n');
  const key = [date, region, service, 'aws4_request'].reduce<Buffer | string>(
    (k, s) => hmac(k, s),
    `AWS4${secretAccessKey}`,
  );
  return hmac(key, toSign).toString('hex');
}

/**
 * First middleware: records the key of each request; a read-only key's SigV4 signature must match its
 * secret (s3rver checks no V4 signature) and its writes are refused.
 */
function accessPolicy(readOnly: Map<string, string>, log: S3Request[]): Middleware {
  return async (ctx, next) => {
    const accessKeyId = accessKeyOf(ctx.get('authorization'), ctx.query) ?? '';
    const entry: S3Request = { time: Date.now(), accessKeyId, method: ctx.method, path: ctx.path, status: 0 };
    log.push(entry);
    if (log.length > MAX_LOGGED) log.splice(0, log.length - MAX_LOGGED); // a long-lived playground stays bounded
    try {
      const secret = readOnly.get(accessKeyId);
      if (secret !== undefined) {
        const expected = sigV4Signature({ method: ctx.method, url: ctx.originalUrl, headers: ctx.headers }, secret);
        if (expected && !ctx.get('authorization').endsWith(`Signature=${expected}`))
          throw new S3Error(
            'SignatureDoesNotMatch',
            'The request signature we calculated does not match the signature you provided.',
          );
        if (!READS.has(ctx.method)) throw new S3Error('AccessDenied', 'Access Denied');
      }
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
  const readOnly = new Map<string, string>();
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
      readOnly.set(accessKeyId, secretAccessKey);
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
