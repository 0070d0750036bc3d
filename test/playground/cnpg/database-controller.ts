// Database CRs: CREATE / ALTER / DROP DATABASE on the cluster's primary, finalizer
// cnpg.io/deleteDatabase for the `delete` reclaim policy, status.applied + message.
import type { KubeObject } from '../types.js';
import type { Ctx } from './context.js';
import { GVR, mutateQuiet, patchStatus } from './context.js';
import { sqlIdent, sqlLiteral, type PgInstance } from './postgres.js';
import type { InstanceManager } from './instance-manager.js';

const FINALIZER = 'cnpg.io/deleteDatabase';

export class DatabaseController {
  constructor(
    private readonly ctx: Ctx,
    private readonly kubelet: InstanceManager,
  ) {}

  private primary(ns: string, clusterName: string): PgInstance | undefined {
    const cluster = this.ctx.store.get(GVR.cluster, ns, clusterName);
    const p = cluster?.status?.currentPrimary;
    return p ? this.kubelet.instance(ns, p) : undefined;
  }

  async reconcile(ns: string, name: string): Promise<number | void> {
    const { store } = this.ctx;
    const db = store.get(GVR.database, ns, name);
    if (!db) return;
    const spec = db.spec ?? {};
    const clusterName = spec.cluster?.name;
    if (db.metadata.deletionTimestamp) {
      if (!db.metadata.finalizers?.includes(FINALIZER)) return;
      if (spec.databaseReclaimPolicy === 'delete') {
        const p = this.primary(ns, clusterName);
        if (p) await p.query(`DROP DATABASE IF EXISTS ${sqlIdent(spec.name)} WITH (FORCE)`);
        else if (store.get(GVR.cluster, ns, clusterName)) return 2000; // wait for the primary
      }
      mutateQuiet(store, GVR.database, ns, name, (o) => {
        o.metadata.finalizers = (o.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
      });
      return;
    }
    if (!db.metadata.finalizers?.includes(FINALIZER)) {
      mutateQuiet(store, GVR.database, ns, name, (o) => {
        o.metadata.finalizers = [...(o.metadata.finalizers ?? []), FINALIZER];
      });
    }
    const cluster = store.get(GVR.cluster, ns, clusterName);
    if (!cluster) return this.report(db, false, `cluster "${clusterName}" not found`, 5000);
    const p = this.primary(ns, clusterName);
    if (!p) return this.report(db, false, 'the primary instance is not ready yet', 2000, true);
    if (db.status?.observedGeneration === db.metadata.generation && db.status?.applied === true) return 10_000;
    try {
      await this.apply(p, spec);
      return this.report(db, true, '', 10_000);
    } catch (err) {
      return this.report(db, false, `while reconciling database: ${(err as Error).message}`, 5000);
    }
  }

  private async apply(p: PgInstance, spec: any): Promise<void> {
    const dbName = sqlIdent(spec.name);
    const exists = (await p.query('SELECT 1 FROM pg_database WHERE datname = $1', [spec.name])).length > 0;
    if (spec.ensure === 'absent') {
      if (exists) await p.query(`DROP DATABASE ${dbName} WITH (FORCE)`);
      return;
    }
    if (!exists) {
      const opts = [`OWNER ${sqlIdent(spec.owner)}`];
      if (spec.template) opts.push(`TEMPLATE ${sqlIdent(spec.template)}`);
      if (spec.encoding) opts.push(`ENCODING ${sqlLiteral(spec.encoding)}`);
      if (spec.locale) opts.push(`LOCALE ${sqlLiteral(spec.locale)}`);
      if (spec.tablespace) opts.push(`TABLESPACE ${sqlIdent(spec.tablespace)}`);
      await p.query(`CREATE DATABASE ${dbName} ${opts.join(' ')}`);
    } else {
      await p.query(`ALTER DATABASE ${dbName} OWNER TO ${sqlIdent(spec.owner)}`);
    }
    if (spec.allowConnections !== undefined)
      await p.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS ${Boolean(spec.allowConnections)}`);
    if (spec.connectionLimit !== undefined)
      await p.query(`ALTER DATABASE ${dbName} CONNECTION LIMIT ${Number(spec.connectionLimit)}`);
    if (spec.isTemplate !== undefined)
      await p.query(`ALTER DATABASE ${dbName} IS_TEMPLATE ${Boolean(spec.isTemplate)}`);
    for (const s of spec.schemas ?? []) {
      if (s.ensure === 'absent') await p.query(`DROP SCHEMA IF EXISTS ${sqlIdent(s.name)}`, [], spec.name);
      else
        await p.query(
          `CREATE SCHEMA IF NOT EXISTS ${sqlIdent(s.name)}${s.owner ? ` AUTHORIZATION ${sqlIdent(s.owner)}` : ''}`,
          [],
          spec.name,
        );
    }
    for (const e of spec.extensions ?? []) {
      if (e.ensure === 'absent') await p.query(`DROP EXTENSION IF EXISTS ${sqlIdent(e.name)}`, [], spec.name);
      else
        await p.query(
          `CREATE EXTENSION IF NOT EXISTS ${sqlIdent(e.name)}${e.schema ? ` SCHEMA ${sqlIdent(e.schema)}` : ''}${e.version ? ` VERSION ${sqlLiteral(e.version)}` : ''}`,
          [],
          spec.name,
        );
    }
  }

  private report(db: KubeObject, ok: boolean, message: string, requeue: number, pending = false): number {
    patchStatus(this.ctx.store, GVR.database, db, (s) => {
      if (pending && s.applied === undefined) {
        s.message = message;
        return;
      }
      s.applied = ok;
      s.observedGeneration = db.metadata.generation;
      if (ok) delete s.message;
      else s.message = message;
    });
    return requeue;
  }
}
