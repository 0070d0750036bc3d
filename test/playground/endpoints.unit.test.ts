// Which pods a Service routes to (apiserver/controllers/endpoints.ts desiredRoute) against the EndpointSlice
// controller: kubernetes staging/src/k8s.io/endpointslice/util/controller_utils.go ShouldPodBeInEndpoints (no
// terminal pod, no pod without an IP; a terminating pod only with publishNotReadyAddresses) and utils.go
// podToEndpoint (ready = publishNotReadyAddresses || (Ready && not terminating)), which kube-proxy routes to.
import { expect, it } from 'vitest';
import { desiredRoute } from './apiserver/controllers/endpoints.js';
import type { KubeObject } from './types.js';

const READY = [{ type: 'Ready', status: 'True' }];
const pod = (name: string, status: Record<string, unknown>, deleting = false): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'ns', labels: { app: 'db' }, ...(deleting ? { deletionTimestamp: 'now' } : {}) },
    spec: { containers: [{ name: 'postgres', ports: [{ name: 'postgresql', containerPort: 5432 }] }] },
    status,
  }) as KubeObject;
const pods = [
  pod('a-ready', { phase: 'Running', podIP: '10.0.0.1', conditions: READY }),
  pod('b-terminating', { phase: 'Running', podIP: '10.0.0.2', conditions: READY }, true),
  pod('c-no-ip-yet', { phase: 'Pending' }),
  pod('d-failed', { phase: 'Failed', podIP: '10.0.0.4' }),
  pod('e-not-ready', { phase: 'Running', podIP: '10.0.0.5', conditions: [{ type: 'Ready', status: 'False' }] }),
];
const store = { list: () => ({ items: pods }) } as unknown as Parameters<typeof desiredRoute>[0];
const service = (publishNotReadyAddresses: boolean) =>
  ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'db-any', namespace: 'ns' },
    spec: { selector: { app: 'db' }, publishNotReadyAddresses, ports: [{ port: 5432, targetPort: 'postgresql' }] },
  }) as KubeObject;

it('routes to Ready pods that are not terminating', () => {
  expect(desiredRoute(store, service(false))).toEqual({ pods: ['a-ready'], ports: { 5432: 5432 } });
});

it('with publishNotReadyAddresses: every pod with an IP that is not terminal, terminating ones too', () => {
  expect(desiredRoute(store, service(true))?.pods).toEqual(['a-ready', 'b-terminating', 'e-not-ready']);
});
