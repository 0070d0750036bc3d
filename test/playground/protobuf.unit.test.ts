// The protobuf body decoder (apiserver/protobuf.ts): kubectl's typed create bodies, field by field.
import { describe, expect, it } from 'vitest';
import { decodeProtobufObject, encodeFields } from './apiserver/protobuf.js';
import { ApiError } from './types.js';

/** The k8s envelope: magic, then runtime.Unknown { typeMeta 1 { apiVersion 1, kind 2 }, raw 2 }. */
const envelope = (apiVersion: string, kind: string, raw: Buffer) =>
  Buffer.concat([
    Buffer.from('k8s\0', 'latin1'),
    encodeFields([
      [
        1,
        encodeFields([
          [1, apiVersion],
          [2, kind],
        ]),
      ],
      [2, raw],
    ]),
  ]);
const meta = (name: string, namespace: string) =>
  encodeFields([
    [1, name],
    [2, ''],
    [3, namespace],
    [
      11,
      encodeFields([
        [1, 'app'],
        [2, 'demo'],
      ]),
    ],
  ]);

describe('decodeProtobufObject', () => {
  it('a ServiceAccount: metadata (empty strings omitted), imagePullSecrets, and a false pointer bool kept', () => {
    const raw = Buffer.concat([
      encodeFields([
        [1, meta('app', 'demo')],
        [3, encodeFields([[1, 'regcred']])],
      ]),
      Buffer.from([4 << 3, 0]), // automountServiceAccountToken = false (varint)
    ]);
    expect(decodeProtobufObject(envelope('v1', 'ServiceAccount', raw))).toEqual({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'app', namespace: 'demo', labels: { app: 'demo' } },
      imagePullSecrets: [{ name: 'regcred' }],
      automountServiceAccountToken: false,
    });
  });

  it('a RoleBinding and a Secret (bytes values as base64, as in JSON)', () => {
    const subject = encodeFields([
      [1, 'ServiceAccount'],
      [2, ''],
      [3, 'app'],
      [4, 'demo'],
    ]);
    const roleRef = encodeFields([
      [1, 'rbac.authorization.k8s.io'],
      [2, 'Role'],
      [3, 'reader'],
    ]);
    const rb = encodeFields([
      [1, meta('b', 'demo')],
      [2, subject],
      [3, roleRef],
    ]);
    expect(decodeProtobufObject(envelope('rbac.authorization.k8s.io/v1', 'RoleBinding', rb))).toMatchObject({
      subjects: [{ kind: 'ServiceAccount', name: 'app', namespace: 'demo' }],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
    });
    const secret = encodeFields([
      [1, meta('s', 'demo')],
      [
        2,
        encodeFields([
          [1, 'k'],
          [2, Buffer.from([0, 255])],
        ]),
      ],
      [3, 'Opaque'],
    ]);
    expect(decodeProtobufObject(envelope('v1', 'Secret', secret))).toMatchObject({
      data: { k: 'AP8=' },
      type: 'Opaque',
    });
  });

  it('refuses, with 415 naming it, a field it does not know and a kind it does not describe: nothing is dropped', () => {
    const unknownField = encodeFields([
      [1, meta('app', 'demo')],
      [9, 'x'],
    ]);
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as ApiError;
      }
      throw new Error('no error');
    };
    const e1 = err(() => decodeProtobufObject(envelope('v1', 'ServiceAccount', unknownField)));
    expect([e1.code, e1.message]).toEqual([415, expect.stringContaining('field 9 of core.ServiceAccount')]);
    const sts = encodeFields([[1, meta('d', 'demo')]]);
    const e2 = err(() => decodeProtobufObject(envelope('apps/v1', 'StatefulSet', sts)));
    expect([e2.code, e2.message]).toEqual([415, expect.stringContaining('not apps/v1/StatefulSet')]);
  });

  it('ignores an unknown field holding the zero value (Go writes every non-pointer field); IntOrString', () => {
    const targetPort = Buffer.concat([Buffer.from([1 << 3, 1]), encodeFields([[3, 'web']])]); // type 1: string
    const port = encodeFields([
      [1, 'http'],
      [2, 'TCP'],
      [4, targetPort],
    ]);
    // externalTrafficPolicy 11 = '' (unknown, zero): ignored.
    const spec = encodeFields([
      [1, port],
      [11, ''],
    ]);
    const svc = encodeFields([
      [1, meta('web', 'demo')],
      [2, spec],
    ]);
    const decoded = decodeProtobufObject(envelope('v1', 'Service', svc));
    expect(decoded.spec).toEqual({ ports: [{ name: 'http', protocol: 'TCP', targetPort: 'web' }] });
  });

  it('a pod template with the chart’s imagePullSecrets and tolerations (core/v1 generated.proto: 15, 22)', () => {
    const f = (...entries: [number, string | Buffer][]) => encodeFields(entries);
    const varint = (no: number, v: number) => Buffer.from([no << 3, v]);
    const podSpec = Buffer.concat([
      f([2, f([1, 'drill'], [2, 'mirror.example/drill:1'])]),
      f([15, f([1, 'regcred'])]),
      f([22, f([1, 'dedicated'], [2, 'Equal'], [3, 'databases'], [4, 'NoSchedule'])]),
      f([22, Buffer.concat([f([2, 'Exists'], [4, 'NoExecute']), varint(5, 30)])]),
    ]);
    const job = f([1, meta('first', 'demo')], [2, f([6, f([2, podSpec])])]);
    expect(decodeProtobufObject(envelope('batch/v1', 'Job', job)).spec.template.spec).toEqual({
      containers: [{ name: 'drill', image: 'mirror.example/drill:1' }],
      imagePullSecrets: [{ name: 'regcred' }],
      tolerations: [
        { key: 'dedicated', operator: 'Equal', value: 'databases', effect: 'NoSchedule' },
        { operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
      ],
    });
  });

  it('a Job as kubectl create job --from=cronjob sends it: emptyDir {}, valueFrom, quantities, security contexts', () => {
    const f = (...entries: [number, string | Buffer][]) => encodeFields(entries);
    const varint = (no: number, v: number) => Buffer.from([no << 3, v]);
    const quantity = (k: string, v: string) => f([1, k], [2, f([1, v])]);
    const container = Buffer.concat([
      f(
        [1, 'drill'],
        [2, 'ghcr.io/x/drill:1'],
        [4, 'run'],
        // env: a value from a Secret's key (the selector's name is an embedded LocalObjectReference) and a fieldRef.
        [7, f([1, 'URL'], [3, f([4, f([1, f([1, 'slack'])], [2, 'webhook-url'])])])],
        [7, f([1, 'NS'], [3, f([1, f([1, 'v1'], [2, 'metadata.namespace'])])])],
        [8, f([1, quantity('memory', '512Mi')], [2, quantity('cpu', '100m')])],
        [9, f([1, 'tmp'], [3, '/tmp'])],
        [15, Buffer.concat([f([1, f([2, 'ALL'])]), varint(6, 1), varint(7, 0)])],
      ),
    ]);
    // volumes: tmp with an empty EmptyDirVolumeSource (set, though empty) inside the inlined VolumeSource.
    const podSpec = Buffer.concat([f([1, f([1, 'tmp'], [2, f([2, Buffer.alloc(0)])])], [2, container], [3, 'Never'])]);
    const jobSpec = Buffer.concat([f([6, f([2, podSpec])]), varint(3, 60), varint(7, 0)]);
    const job = f([1, meta('first', 'demo')], [2, jobSpec]);
    expect(decodeProtobufObject(envelope('batch/v1', 'Job', job)).spec).toEqual({
      activeDeadlineSeconds: 60,
      backoffLimit: 0,
      template: {
        spec: {
          volumes: [{ name: 'tmp', emptyDir: {} }],
          restartPolicy: 'Never',
          containers: [
            {
              name: 'drill',
              image: 'ghcr.io/x/drill:1',
              args: ['run'],
              env: [
                { name: 'URL', valueFrom: { secretKeyRef: { name: 'slack', key: 'webhook-url' } } },
                { name: 'NS', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
              ],
              resources: { limits: { memory: '512Mi' }, requests: { cpu: '100m' } },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              securityContext: {
                capabilities: { drop: ['ALL'] },
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
              },
            },
          ],
        },
      },
    });
  });
});
