// What a variant's backend does for the saga: name the resources it will own (recorded before
// they exist), create them, wait until usable and return connection facts, grow, and
// deprovision. Every operation is idempotent: a re-run after a crash simply runs it again.
import type { Core } from '../../core.js';
import type { KubeClients } from '../../kube/client.js';
import type { SyncConfig } from '../config.js';
import type { Association, OwnedResource, VariantSpec } from '../types.js';
import type { ConnInfo } from '../../postgres/conn-info.js';

export interface BackendContext {
  core: Core;
  clients: KubeClients;
  config: SyncConfig;
  /** Epoch ms by which waits give up. */
  deadline: number;
  log(message: string): void;
}

export interface BackendImpl {
  resources(config: SyncConfig, app: string, addon: string): OwnedResource[];
  provision(ctx: BackendContext, a: Association, variant: VariantSpec): Promise<void>;
  waitUsable(ctx: BackendContext, a: Association): Promise<ConnInfo>;
  /** Dedicated only: grow storage / instances in place. */
  resize?(ctx: BackendContext, a: Association, to: VariantSpec): Promise<void>;
  deprovision(ctx: BackendContext, a: Association): Promise<void>;
}
