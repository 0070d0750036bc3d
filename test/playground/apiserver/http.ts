// HTTP helpers: Kubernetes Status bodies, content negotiation (JSON only; protobuf refused
// with 406/415), request bodies (JSON or YAML).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError } from '../types.js';
import { decodeProtobufObject } from './protobuf.js';

export function statusBody(
  code: number,
  reason: string,
  message: string,
  details?: Record<string, unknown>,
): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

export function errorStatus(e: unknown): Record<string, unknown> {
  if (e instanceof ApiError) return statusBody(e.code, e.reason, e.message, e.details);
  return statusBody(500, 'InternalError', `Internal error occurred: ${e instanceof Error ? e.message : String(e)}`);
}

export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const data = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    ...headers,
    'Content-Length': Buffer.byteLength(data),
  });
  res.end(data);
}

export function sendError(res: ServerResponse, e: unknown, headers: Record<string, string> = {}): void {
  const body = errorStatus(e);
  sendJson(res, body.code as number, body, headers);
}

/** True when the client accepts a JSON answer (clients asking `as=Table` also accept plain JSON lists). */
export function acceptsJson(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  if (!accept) return true;
  return accept.split(',').some((part) => {
    const media = part.split(';')[0].trim();
    return media === 'application/json' || media === '*/*' || media === 'application/*' || media === 'application/yaml';
  });
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
}

/** Parses a JSON or YAML body; protobuf is refused (415) so the client knows to send JSON. */
export function parseBody(buf: Buffer, media: string): unknown {
  if (media === 'application/vnd.kubernetes.protobuf') return decodeProtobufObject(buf);
  if (media.includes('protobuf') || media.includes('cbor')) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the playground API server only accepts JSON or YAML bodies, not ${media}`,
    );
  }
  const text = buf.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return media.includes('yaml') ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, 'BadRequest', `the request body could not be decoded: ${(e as Error).message}`);
  }
}
