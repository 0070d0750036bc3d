// The playground's S3 is not kinder than S3 to a read-only key: a key whose policy grants only reads
// (s3:GetObject, s3:ListBucket) is refused every write with 403 AccessDenied, may read and list, its
// SigV4 signatures are checked, and the store records which key sent each request (s3.ts;
// CONFORMANCE.md, section "creds").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessKeyOf, sigV4Signature, startS3 } from './s3.js';
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

/** A request signed with SigV4 as boto3 signs it (sigV4Signature is checked against AWS's examples below). */
function send(method: string, path: string, accessKeyId: string, body?: string, secret = 'readonly-secret') {
  const date = new Date().toISOString().replace(/[-:]|\.\d+/g, '');
  const headers: Record<string, string> = {
    host: new URL(s3.endpoint).host,
    'x-amz-date': date,
    'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${date.slice(0, 8)}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=`,
  };
  headers.authorization += sigV4Signature({ method, url: path, headers }, secret);
  return fetch(`${s3.endpoint}${path}`, { method, body, headers });
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
    // The read-only key's signature is checked: a wrong secret key is refused, as by S3.
    const forged = await send('GET', '/backups/pg/base/data.tar', 'READONLY', undefined, 'not-the-secret');
    expect([forged.status, /<Code>(\w+)<\/Code>/.exec(await forged.text())?.[1]]).toEqual([
      403,
      'SignatureDoesNotMatch',
    ]);
    // Nothing was written or deleted; an unknown key is still refused as before.
    expect(await (await send('GET', '/backups/pg/base/data.tar', s3.accessKeyId)).text()).toBe('archive');
    expect((await send('GET', '/backups/pg/base/data.tar', 'NOBODY')).status).toBe(403);
    expect(
      s3
        .requests(since)
        .filter((r) => r.accessKeyId === 'READONLY')
        .map((r) => `${r.method} ${r.status}`),
    ).toEqual(['GET 200', 'HEAD 200', 'GET 200', 'PUT 403', 'DELETE 403', 'POST 403', 'GET 403']);
  });

  it('computes the SigV4 signatures of the AWS documentation examples (GET object, list objects, lifecycle)', () => {
    const headers = {
      host: 'examplebucket.s3.amazonaws.com',
      'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'x-amz-date': '20130524T000000Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,' +
        'SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=',
    };
    const sign = (url: string, h: Record<string, string> = headers) =>
      sigV4Signature({ method: 'GET', url, headers: h }, 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    const ranged = {
      ...headers,
      range: 'bytes=0-9',
      authorization: headers.authorization.replace('host;', 'host;range;'),
    };
    expect(sign('/test.txt', ranged)).toBe('f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
    expect(sign('/?max-keys=2&prefix=J')).toBe('34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
    expect(sign('/?lifecycle')).toBe('fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543');
  });

  it('reads the access key of V4 and V2 headers and presigned queries', () => {
    expect(accessKeyOf('AWS4-HMAC-SHA256 Credential=AK1/20261207/us-east-1/s3/aws4_request, S=x', {})).toBe('AK1');
    expect(accessKeyOf('AWS AK2:c2ln', {})).toBe('AK2');
    expect(accessKeyOf('', { 'X-Amz-Credential': 'AK3/20261207/us-east-1/s3/aws4_request' })).toBe('AK3');
    expect(accessKeyOf('', { AWSAccessKeyId: 'AK4' })).toBe('AK4');
    expect(accessKeyOf('', {})).toBeUndefined();
  });
});
