// The CRDs CNPG and the Barman Cloud plugin install; created at operator start.
import type { Ctx } from './context.js';
import { GVR } from './context.js';
import { sleep } from './proc.js';

interface CrdDef {
  group: string;
  plural: string;
  kind: string;
  shortNames: string[];
  columns?: Array<[string, string, string]>; // name, type, jsonPath (kubectl get columns, as upstream)
  clusterScoped?: boolean;
}

const age: [string, string, string] = ['Age', 'date', '.metadata.creationTimestamp'];

const CRDS: CrdDef[] = [
  {
    group: 'postgresql.cnpg.io',
    plural: 'clusters',
    kind: 'Cluster',
    shortNames: ['cluster'],
    columns: [
      age,
      ['Instances', 'integer', '.status.instances'],
      ['Ready', 'integer', '.status.readyInstances'],
      ['Status', 'string', '.status.phase'],
      ['Primary', 'string', '.status.currentPrimary'],
    ],
  },
  {
    group: 'postgresql.cnpg.io',
    plural: 'backups',
    kind: 'Backup',
    shortNames: ['backup'],
    columns: [
      age,
      ['Cluster', 'string', '.spec.cluster.name'],
      ['Method', 'string', '.spec.method'],
      ['Phase', 'string', '.status.phase'],
      ['Error', 'string', '.status.error'],
    ],
  },
  {
    group: 'postgresql.cnpg.io',
    plural: 'scheduledbackups',
    kind: 'ScheduledBackup',
    shortNames: ['scheduledbackup'],
    columns: [age, ['Cluster', 'string', '.spec.cluster.name'], ['Last Backup', 'date', '.status.lastScheduleTime']],
  },
  { group: 'postgresql.cnpg.io', plural: 'databases', kind: 'Database', shortNames: ['database'] },
  { group: 'postgresql.cnpg.io', plural: 'poolers', kind: 'Pooler', shortNames: ['pooler'] },
  { group: 'postgresql.cnpg.io', plural: 'publications', kind: 'Publication', shortNames: ['publication'] },
  { group: 'postgresql.cnpg.io', plural: 'subscriptions', kind: 'Subscription', shortNames: ['subscription'] },
  { group: 'postgresql.cnpg.io', plural: 'imagecatalogs', kind: 'ImageCatalog', shortNames: ['imagecatalog'] },
  {
    group: 'postgresql.cnpg.io',
    plural: 'clusterimagecatalogs',
    kind: 'ClusterImageCatalog',
    shortNames: ['clusterimagecatalog'],
    clusterScoped: true,
  },
  { group: 'barmancloud.cnpg.io', plural: 'objectstores', kind: 'ObjectStore', shortNames: [] },
];

function crdObject(d: CrdDef) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${d.plural}.${d.group}`, labels: { 'app.kubernetes.io/name': 'cloudnative-pg' } },
    spec: {
      group: d.group,
      names: {
        plural: d.plural,
        singular: d.kind.toLowerCase(),
        kind: d.kind,
        listKind: `${d.kind}List`,
        shortNames: d.shortNames,
      },
      scope: d.clusterScoped ? 'Cluster' : 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          ...(d.columns
            ? { additionalPrinterColumns: d.columns.map(([name, type, jsonPath]) => ({ name, type, jsonPath })) }
            : {}),
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}

export async function installCrds(ctx: Ctx): Promise<void> {
  for (const d of CRDS) {
    const name = `${d.plural}.${d.group}`;
    if (!ctx.store.get(GVR.crd, undefined, name)) ctx.store.create(GVR.crd, crdObject(d));
  }
  const deadline = Date.now() + 10_000;
  for (const d of CRDS) {
    while (!ctx.store.typeOf(`${d.group}/v1/${d.plural}`)) {
      if (Date.now() > deadline) throw new Error(`CRD ${d.plural}.${d.group} not served`);
      await sleep(20);
    }
  }
}
