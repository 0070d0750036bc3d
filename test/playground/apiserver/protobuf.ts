// Minimal decoding of Kubernetes protobuf request bodies: `kubectl create namespace|
// configmap|secret` send typed objects as protobuf and never retry as JSON. Only the
// fields of those kinds (and ObjectMeta's name, namespace, labels, annotations,
// finalizers) are decoded; any other kind is refused with 415.
import { ApiError, type KubeObject } from '../types.js';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

type Field = { no: number; wire: number; value: bigint | Buffer };

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
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
    pos = p;
    const no = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      const [v, p2] = readVarint(buf, pos);
      out.push({ no, wire, value: v });
      pos = p2;
    } else if (wire === 2) {
      const [len, p2] = readVarint(buf, pos);
      const end = p2 + Number(len);
      out.push({ no, wire, value: buf.subarray(p2, end) });
      pos = end;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
  return out;
}

const str = (f: Field) => (f.value as Buffer).toString('utf8');

function mapEntry(f: Field): [string, Buffer] {
  let k = '';
  let v: Buffer = Buffer.alloc(0);
  for (const e of fields(f.value as Buffer)) {
    if (e.no === 1) k = str(e);
    if (e.no === 2) v = e.value as Buffer;
  }
  return [k, v];
}

function objectMeta(buf: Buffer): KubeObject['metadata'] {
  const m: KubeObject['metadata'] = { name: '' };
  for (const f of fields(buf)) {
    if (f.no === 1) m.name = str(f);
    else if (f.no === 2 && str(f)) m.generateName = str(f);
    else if (f.no === 3 && str(f)) m.namespace = str(f);
    else if (f.no === 5 && str(f)) m.uid = str(f);
    else if (f.no === 6 && str(f)) m.resourceVersion = str(f);
    else if (f.no === 11 || f.no === 12) {
      const [k, v] = mapEntry(f);
      const key = f.no === 11 ? 'labels' : 'annotations';
      m[key] = { ...m[key], [k]: v.toString('utf8') };
    } else if (f.no === 14) m.finalizers = [...(m.finalizers ?? []), str(f)];
  }
  return m;
}

function stringMap(fs: Field[], no: number, encode: (b: Buffer) => string): Record<string, string> | undefined {
  const entries = fs.filter((f) => f.no === no).map(mapEntry);
  return entries.length ? Object.fromEntries(entries.map(([k, v]) => [k, encode(v)])) : undefined;
}

/** DeleteOptions (helm and typed clients send them as protobuf DELETE bodies). */
function deleteOptions(fs: Field[]): KubeObject {
  const o: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
  for (const f of fs) {
    if (f.no === 1) o.gracePeriodSeconds = Number(f.value as bigint);
    else if (f.no === 2) {
      const pre: Record<string, string> = {};
      for (const p of fields(f.value as Buffer)) pre[p.no === 1 ? 'uid' : 'resourceVersion'] = str(p);
      o.preconditions = pre;
    } else if (f.no === 3) o.orphanDependents = f.value === 1n;
    else if (f.no === 4) o.propagationPolicy = str(f);
    else if (f.no === 5) o.dryRun = [...((o.dryRun as string[]) ?? []), str(f)];
  }
  return o as unknown as KubeObject;
}

export function decodeProtobufObject(body: Buffer): KubeObject {
  if (!body.subarray(0, 4).equals(MAGIC))
    throw new ApiError(400, 'BadRequest', 'protobuf body without the k8s envelope');
  let apiVersion = '';
  let kind = '';
  let raw: Buffer = Buffer.alloc(0);
  for (const f of fields(body.subarray(4))) {
    if (f.no === 1) {
      for (const t of fields(f.value as Buffer)) {
        if (t.no === 1) apiVersion = str(t);
        if (t.no === 2) kind = str(t);
      }
    } else if (f.no === 2) raw = f.value as Buffer;
  }
  const fs = fields(raw);
  const meta = fs.find((f) => f.no === 1);
  const obj: KubeObject = { apiVersion, kind, metadata: meta ? objectMeta(meta.value as Buffer) : { name: '' } };
  const utf8 = (b: Buffer) => b.toString('utf8');
  switch (`${apiVersion}/${kind}`) {
    case 'v1/Namespace':
      break;
    case 'v1/ConfigMap': {
      const data = stringMap(fs, 2, utf8);
      const binaryData = stringMap(fs, 3, (b) => b.toString('base64'));
      if (data) obj.data = data;
      if (binaryData) obj.binaryData = binaryData;
      if (fs.some((f) => f.no === 4 && f.value === 1n)) obj.immutable = true;
      break;
    }
    case 'v1/Secret': {
      const data = stringMap(fs, 2, (b) => b.toString('base64'));
      if (data) obj.data = data;
      const type = fs.find((f) => f.no === 3);
      if (type) obj.type = str(type);
      const stringData = stringMap(fs, 4, utf8);
      if (stringData) obj.stringData = stringData;
      if (fs.some((f) => f.no === 5 && f.value === 1n)) obj.immutable = true;
      break;
    }
    case 'meta.k8s.io/v1/DeleteOptions':
    case 'v1/DeleteOptions':
      return deleteOptions(fs);
    default:
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the playground API server decodes protobuf only for Namespace, ConfigMap, Secret and DeleteOptions (got ${kind}); send JSON (e.g. kubectl apply -f, or kubectl create ... --dry-run=client -o yaml | kubectl apply -f -)`,
      );
  }
  return obj;
}
