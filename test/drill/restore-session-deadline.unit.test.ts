// Direct mode's wait for the restore's -rw Service (postgres/service-route.ts) is one of the drill's waits:
// it ends by the drill's `timeout` deadline, not 30 s after it (sessions.ts, openRestoreSession).
import { expect, it } from 'vitest';
import type { Cluster } from '../../actions/lib/cnpg/types.js';
import type { KubeClients } from '../../actions/lib/kube/client.js';
import { openRestoreSession } from '../../actions/lib/drill/sessions.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
/** An API server with the restore's ready primary and its superuser Secret; its -rw name resolves nowhere. */
const clients = {
  core: {
    readNamespacedPod: async () => ({ status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }),
    readNamespacedSecret: async () => ({ data: { username: b64('postgres'), password: b64('pw') } }),
  },
} as unknown as KubeClients;
const restored = {
  metadata: { name: 'drill-restore-x', namespace: 'nowhere-ns' },
  spec: { instances: 1 },
  status: { currentPrimary: 'drill-restore-x-1' },
} as unknown as Cluster;

it('the -rw route wait ends at the drill deadline when that comes first', async () => {
  const ctx = {
    core: { setSecret: () => {} },
    clients,
    site: { clients, remote: false },
    owned: { sessions: [] },
    inputs: { connectionMode: 'direct', countConcurrency: 1 },
  } as unknown as Parameters<typeof openRestoreSession>[0];
  const started = Date.now();
  const opening = openRestoreSession(ctx, restored, 'app', 'drill-restore-x-superuser', {
    deadline: started + 1_500,
    timeoutMs: 600_000,
  });
  await expect(opening).rejects.toThrow(/Service nowhere-ns\/drill-restore-x-rw .*did not reach the ready primary/);
  expect(Date.now() - started).toBeLessThan(4_000);
}, 60_000);
