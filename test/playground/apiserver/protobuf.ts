// Decoding of Kubernetes protobuf request bodies (the "k8s\0" envelope around runtime.Unknown):
// kubectl's typed `create` commands send protobuf and never retry as JSON. One generic decoder
// walks the wire format driven by the message tables in protobuf-schema.ts (field numbers from
// the k8s.io/api and apimachinery generated.proto files). Go's generated marshallers write every
// non-pointer field, zero or not: a field number a table does not know is ignored when it holds
// the zero value (empty or 0: nothing to drop) and refused with 415 naming it otherwise.
import { ApiError, type KubeObject } from '../types.js';
import { KINDS, MESSAGES, type FieldType } from './protobuf-schema.js';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

type Field = { no: number; value: bigint | Buffer };

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new ApiError(400, 'BadRequest', 'truncated protobuf varint');
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p] = readVarint(buf, pos);
    const [no, wire] = [Number(tag >> 3n), Number(tag & 7n)];
    if (wire === 0) {
      const [v, p2] = readVarint(buf, p);
      out.push({ no, value: v });
      pos = p2;
    } else if (wire === 2) {
      const [len, p2] = readVarint(buf, p);
      pos = p2 + Number(len);
      if (pos > buf.length) throw new ApiError(400, 'BadRequest', 'truncated protobuf field');
      out.push({ no, value: buf.subarray(p2, pos) });
    } else throw new ApiError(400, 'BadRequest', `unsupported protobuf wire type ${wire} (field ${no})`);
  }
  return out;
}

const bytesOf = (f: Field) => {
  if (!Buffer.isBuffer(f.value))
    throw new ApiError(400, 'BadRequest', `protobuf field ${f.no} is not length-delimited`);
  return f.value;
};

/** A map entry (key 1, value 2); bytes values are base64 as in JSON, Quantity values their string. */
function mapEntry(f: Field, how: 'map' | 'mapBytes' | 'mapQuantity'): [string, string] {
  let k = '';
  let v: Buffer = Buffer.alloc(0);
  for (const e of fields(bytesOf(f))) {
    if (e.no === 1) k = bytesOf(e).toString('utf8');
    if (e.no === 2) v = bytesOf(e);
  }
  if (how === 'mapQuantity') return [k, quantity(v)];
  return [k, how === 'mapBytes' ? v.toString('base64') : v.toString('utf8')];
}

/** resource.Quantity is `message Quantity { optional string string = 1; }` on the wire, a string in JSON. */
function quantity(buf: Buffer): string {
  const s = fields(buf).find((e) => e.no === 1);
  return s ? bytesOf(s).toString('utf8') : '';
}

function scalar(f: Field, type: FieldType, path: string): unknown {
  if (type === 'string') return bytesOf(f).toString('utf8');
  if (type === 'bytes') return bytesOf(f).toString('base64');
  if (type === 'quantity') return quantity(bytesOf(f));
  if (type === 'bool') return f.value === 1n;
  if (/^int(32|64)\??$/.test(type)) return Number(BigInt.asIntN(64, f.value as bigint));
  if (type === 'intstr') {
    // IntOrString {type 1 (0 int, 1 string), intVal 2, strVal 3} is a number or a string in JSON.
    const v = decodeMessage('intstr.IntOrString', bytesOf(f), path);
    return v.type === 1 ? (v.strVal ?? '') : (v.intVal ?? 0);
  }
  return decodeMessage(type.replace(/\?$/, ''), bytesOf(f), path);
}

/** Drops what Go's JSON encoding omits: empty strings and messages, 0 of non-pointer ints (`int32`, not `int32?`);
 *  an empty message behind a pointer that means something set (`<message>?`, e.g. `emptyDir: {}`) is kept. */
const omitted = (v: unknown, type: FieldType) =>
  v === '' ||
  (v === 0 && (type === 'int32' || type === 'int64')) ||
  (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0 && !type.endsWith('?'));

const isZero = (f: Field) => (Buffer.isBuffer(f.value) ? f.value.length === 0 : f.value === 0n);

function decodeMessage(message: string, buf: Buffer, path: string): Record<string, unknown> {
  const table = MESSAGES[message];
  const out: Record<string, unknown> = {};
  for (const f of fields(buf)) {
    const spec = table[f.no];
    if (!spec && isZero(f)) continue;
    if (!spec) {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the playground API server cannot decode protobuf field ${f.no} of ${message} ` +
          `(at ${path || 'the object'}); send JSON (kubectl apply -f)`,
      );
    }
    const [name, type, how] = spec;
    if (how === 'skip') continue;
    if (how === 'map' || how === 'mapBytes' || how === 'mapQuantity') {
      const [k, v] = mapEntry(f, how);
      out[name] = { ...(out[name] as object), [k]: v };
    } else if (how === 'inline') Object.assign(out, scalar(f, type, path));
    else if (how === 'repeated') out[name] = [...((out[name] as unknown[]) ?? []), scalar(f, type, `${path}.${name}`)];
    else {
      const v = scalar(f, type, `${path}.${name}`);
      if (omitted(v, type)) delete out[name];
      else out[name] = v;
    }
  }
  return out;
}

/** Decodes a protobuf body of any kind protobuf-schema.ts describes; another kind is refused with 415. */
export function decodeProtobufObject(body: Buffer): KubeObject {
  if (!body.subarray(0, 4).equals(MAGIC))
    throw new ApiError(400, 'BadRequest', 'protobuf body without the k8s envelope');
  const unknown = decodeMessage('runtime.Unknown', body.subarray(4), '');
  const { apiVersion = '', kind = '' } = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const message = KINDS[`${apiVersion.replace(/^meta\.k8s\.io\//, '')}/${kind}`];
  if (!message) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the playground API server decodes protobuf for ${Object.keys(KINDS).join(', ')}, not ${apiVersion}/${kind}; ` +
        'send JSON (e.g. kubectl create ... --dry-run=client -o yaml | kubectl apply -f -)',
    );
  }
  const raw = Buffer.from((unknown.raw as string | undefined) ?? '', 'base64');
  const obj = decodeMessage(message, raw, '');
  return { apiVersion, kind, ...obj, metadata: (obj.metadata ?? { name: '' }) as KubeObject['metadata'] } as KubeObject;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  for (let v = n; ; v = Math.floor(v / 128)) {
    if (v < 128) return Buffer.from([...out, v]);
    out.push((v % 128) | 0x80);
  }
}

/** Encodes length-delimited fields (strings and nested messages): enough for small documents. */
export function encodeFields(entries: [number, string | Buffer][]): Buffer {
  return Buffer.concat(
    entries.flatMap(([no, v]) => {
      const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
      return [varint((no << 3) | 2), varint(b.length), b];
    }),
  );
}
