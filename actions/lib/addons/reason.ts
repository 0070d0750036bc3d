// One-line failure reasons for association records, logs and the summary: API errors as
// "HTTP 403: <server message>" instead of client-node's multi-line dump of body and headers.
import { ApiException } from '@kubernetes/client-node';
import { messageOf } from '../errors.js';
import { describeApiError } from '../kube/retry.js';

export function reasonOf(err: unknown): string {
  const text = err instanceof ApiException ? describeApiError(err) : messageOf(err);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
