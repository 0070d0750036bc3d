// The playground's S3 is not kinder than S3 to a read-only key: a key whose policy grants only reads
// (s3:GetObject, s3:ListBucket) is refused every write with 403 AccessDenied, may read and list, and
// the store records which key sent each request (s3.ts; CONFORMANCE.md, section "creds").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessKeyOf, startS3 } from './s3.js';
import type { S3Handle } from './types.js';

let s3: S3Handle;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 's3-unit-'));
  s3 = await startS3({ dir });
  s3.addReadOnlyKey('READONLY', 'readonly-secret');
});
afterAll(async () => {
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A SigV4-shaped request as boto3 sends it (s3rver checks the key and the date, not the signature). */
function send(method: string, path: string, accessKeyId: string, body?: string) {
  const date = new Date().toISOString().replace(/[-:]|\.\d+/g, '');
  return fetch(`${s3.endpoint}${path}`, {
    method,
    body,
    headers: {
      authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${date.slice(0, 8)}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00`,
      'x-amz-date': date,
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    },
  });
}

describe('a read-only access key', () => {
  it('may read and list, and every write is refused with 403 AccessDenied, as by S3', async () => {
    const since = Date.now();
    expect((await send('PUT', '/backups/pg/base/data.tar', s3.accessKeyId, 'archive')).status).toBe(200);
    const get = await send('GET', '/backups/pg/base/data.tar', 'READONLY');
    expect([get.status, await get.text()]).toEqual([200, 'archive']);
    expect((await send('HEAD', '/backups/pg/base/data.tar', 'READONLY')).status).toBe(200);
    const list = await send('GET', '/backups?list-type=2&prefix=pg/', 'READONLY');
    expect(await list.text()).toContain('<Key>pg/base/data.tar</Key>');
    for (const [method, path] of [
      ['PUT', '/backups/pg/wals/000000010000000000000001'],
      ['DELETE', '/backups/pg/base/data.tar'],
      ['POST', '/backups?delete'],
    ]) {
      const r = await send(method, path, 'READONLY', method === 'DELETE' ? undefined : '<Delete/>');
      expect([method, r.status, /<Code>(\w+)<\/Code>/.exec(await r.text())?.[1]]).toEqual([
        method,
        403,
        'AccessDenied',
      ]);
    }
    // Nothing was written or deleted; an unknown key is still refused as before.
    expect(await (await send('GET', '/backups/pg/base/data.tar', s3.accessKeyId)).text()).toBe('archive');
    expect((await send('GET', '/backups/pg/base/data.tar', 'NOBODY')).status).toBe(403);
    expect(
      s3
        .requests(since)
        .filter((r) => r.accessKeyId === 'READONLY')
        .map((r) => `${r.method} ${r.status}`),
    ).toEqual(['GET 200', 'HEAD 200', 'GET 200', 'PUT 403', 'DELETE 403', 'POST 403']);
  });

  it('reads the access key of V4 and V2 headers and presigned queries', () => {
    expect(accessKeyOf('AWS4-HMAC-SHA256 Credential=AK1/20261207/us-east-1/s3/aws4_request, S=x', {})).toBe('AK1');
    expect(accessKeyOf('AWS AK2:c2ln', {})).toBe('AK2');
    expect(accessKeyOf('', { 'X-Amz-Credential': 'AK3/20261207/us-east-1/s3/aws4_request' })).toBe('AK3');
    expect(accessKeyOf('', { AWSAccessKeyId: 'AK4' })).toBe('AK4');
    expect(accessKeyOf('', {})).toBeUndefined();
  });
});
