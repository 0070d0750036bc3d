// Pod status as a kubelet reports it, for the pods the CNPG runtime executes.
import { now } from './context.js';

export function podStatus(
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed',
  container: string,
  ready: boolean,
  opts: { exitCode?: number; restartCount?: number; waiting?: string; startTime?: string; image?: string } = {},
) {
  const t = now();
  const state = opts.waiting
    ? { waiting: { reason: opts.waiting } }
    : phase === 'Running'
      ? { running: { startedAt: t } }
      : phase === 'Pending'
        ? { waiting: { reason: 'ContainerCreating' } }
        : {
            terminated: { exitCode: opts.exitCode ?? 0, reason: opts.exitCode ? 'Error' : 'Completed', finishedAt: t },
          };
  const cond = (type: string, status: boolean) => ({
    type,
    status: status ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: t,
  });
  return {
    phase,
    podIP: '127.0.0.1',
    podIPs: [{ ip: '127.0.0.1' }],
    hostIP: '127.0.0.1',
    startTime: opts.startTime ?? t,
    conditions: [
      cond('PodScheduled', true),
      cond('Initialized', true),
      cond('ContainersReady', ready),
      cond('Ready', ready),
    ],
    containerStatuses: [
      {
        name: container,
        ready,
        started: phase === 'Running' && !opts.waiting,
        restartCount: opts.restartCount ?? 0,
        image: opts.image ?? 'ghcr.io/cloudnative-pg/postgresql:15',
        imageID: '',
        containerID: `playground://${container}`,
        state,
      },
    ],
  };
}
