// Field errors as the API server words them (422 Invalid, one cause per field), shared by
// CNPG's validating webhooks (internal/webhook/v1) and the CRD schema checks they stand in for.
import { ApiError } from '../types.js';

export interface FieldError {
  text: string;
}
const show = (v: unknown) =>
  typeof v === 'string' ? JSON.stringify(v) : v === undefined || v === null ? '""' : JSON.stringify(v);
export const invalid = (path: string, value: unknown, detail: string): FieldError => ({
  text: `${path}: Invalid value: ${show(value)}: ${detail}`,
});
export const required = (path: string, detail?: string): FieldError => ({
  text: `${path}: Required value${detail ? `: ${detail}` : ''}`,
});
export const forbidden = (path: string, detail: string): FieldError => ({ text: `${path}: Forbidden: ${detail}` });

export function reject(kind: string, group: string, name: string, errs: FieldError[]): never {
  const list = errs.length === 1 ? errs[0].text : `[${errs.map((e) => e.text).join(', ')}]`;
  throw new ApiError(422, 'Invalid', `${kind}.${group} "${name}" is invalid: ${list}`, {
    name,
    group,
    kind,
    causes: errs.map((e) => ({ reason: 'FieldValueInvalid', message: e.text, field: e.text.split(':')[0] })),
  });
}

/** Kubernetes resource.Quantity in bytes (binary and decimal suffixes); NaN when invalid. */
export function quantityBytes(q: unknown): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.exec(String(q ?? '').trim());
  if (!m) return NaN;
  const mult: Record<string, number> = {
    '': 1,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
  };
  return Number(m[1]) * mult[m[2] ?? ''];
}

export function storageSize(storage: any): string | undefined {
  return storage?.size ?? storage?.pvcTemplate?.resources?.requests?.storage;
}
