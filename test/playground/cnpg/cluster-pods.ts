// Instance pods as CNPG specifies them (pkg/specs/pods.go): named after the instance, owned by
// the Cluster, labelled with cluster / instance / podRole (role labels come once the primary is
// known: cluster-metadata.ts), running `/controller/manager instance run` on the instance's PVC.
// No subdomain: the -any Service is off by default (configuration CreateAnyService).
// instance-manager.ts executes them.
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, KUBELET_FINALIZER, L, controllerRef, upsert } from './context.js';
import { appLabels, inherited } from './cluster-labels.js';
import { bootstrapCommand, type JobRole } from './bootstrap-jobs.js';

/** In-pod bootstrap (PR #11319, pkg/specs/pods.go): the init container that bootstraps the PVC. */
export const BOOTSTRAP_INIT_CONTAINER = 'bootstrap-instance';

/** `bootstrap-controller` stages the manager binary; `bootstrap-instance` (after it) runs the bootstrap. */
function initContainers(image: string, bootstrap: JobRole) {
  const staging = {
    name: 'bootstrap-controller',
    image: 'ghcr.io/cloudnative-pg/cloudnative-pg:trunk',
    command: ['/manager', 'bootstrap', '/controller/manager'],
  };
  return [staging, { name: BOOTSTRAP_INIT_CONTAINER, image, command: bootstrapCommand(bootstrap) }];
}

/** The serial number at the end of an instance name (`<cluster>-<serial>`). */
export const serial = (instanceName: string) => Number(instanceName.split('-').pop());

/** `bootstrap`: in-pod bootstrap of the instance's PVC by the `bootstrap-instance` init container. */
export function createInstancePod(ctx: Ctx, cluster: KubeObject, inst: string, bootstrap?: JobRole): void {
  const name = cluster.metadata.name;
  const meta = inherited(ctx, cluster);
  const image = cluster.status?.image ?? cluster.spec?.imageName;
  upsert(ctx.store, GVR.pod, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: inst,
      namespace: cluster.metadata.namespace,
      labels: { [L.cluster]: name, [L.instanceName]: inst, [L.podRole]: 'instance', ...appLabels(ctx, cluster) },
      annotations: { 'cnpg.io/nodeSerial': String(serial(inst)), ...meta.annotations },
      finalizers: [KUBELET_FINALIZER],
      ownerReferences: [controllerRef(cluster)],
    },
    spec: {
      hostname: inst,
      restartPolicy: 'Always',
      ...(bootstrap ? { initContainers: initContainers(image, bootstrap) } : {}),
      containers: [
        {
          name: 'postgres',
          image,
          command: ['/controller/manager', 'instance', 'run'],
          ports: [
            { containerPort: 5432, name: 'postgresql', protocol: 'TCP' },
            { containerPort: 9187, name: 'metrics', protocol: 'TCP' },
            { containerPort: 8000, name: 'status', protocol: 'TCP' },
          ],
        },
      ],
      volumes: [{ name: 'pgdata', persistentVolumeClaim: { claimName: inst } }],
    },
    status: { phase: 'Pending' },
  });
}

/** Live (not terminating) instance pods of a cluster. */
export function instancePods(ctx: Ctx, cluster: KubeObject): KubeObject[] {
  return ctx.store.list(GVR.pod, cluster.metadata.namespace, {
    labelSelector: `${L.cluster}=${cluster.metadata.name},${L.podRole}=instance`,
  }).items;
}
