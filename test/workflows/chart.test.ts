// The in-cluster chart (workflows/helm/cnpg-restore-drill) rendered by the real helm: a CronJob
// that never overlaps, starts suspended, is bounded by a deadline and runs the CLI non-root on a
// read-only root file system; its Roles are exactly workflows/rbac/'s; values.schema.json refuses
// bad values; the image (workflows/helm/Dockerfile) and its release job.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { envName } from '../../actions/lib/cli/args.js';
import { DRILL_INPUTS } from '../../actions/lib/drill/input-spec.js';
import { repoRoot } from '../helpers/run-action.js';

const chart = join(repoRoot, 'workflows/helm/cnpg-restore-drill');
const helm = (...args: string[]) =>
  spawnSync(join(repoRoot, '.tools/bin/helm'), args, { encoding: 'utf8', env: { ...process.env, HOME: '/tmp' } });
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered manifests, read as parsed YAML
type Doc = { kind: string; metadata: { name: string }; rules?: unknown[]; spec?: any };

function render(...set: string[]): Doc[] {
  const r = helm('template', 'drill', chart, '-n', 'databases', ...set.flatMap((s) => ['--set', s]));
  if (r.status !== 0) throw new Error(r.stderr);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJSON() as Doc)
    .filter(Boolean);
}

describe('cnpg-restore-drill chart', () => {
  it('lints, and renders a CronJob: Forbid, suspended first, a deadline, non-root, read-only root fs', () => {
    expect(helm('lint', chart, '--set', 'cluster=pg').status).toBe(0);
    const docs = render(
      'cluster=pg',
      'inputs.timeout=45m',
      'inputs.verify=heap',
      'slack.webhookSecret.name=slack',
      'metrics.pushgatewayUrl=http://pg:9091',
    );
    const cron = docs.find((d) => d.kind === 'CronJob')!;
    expect(cron.spec).toMatchObject({ concurrencyPolicy: 'Forbid', suspend: true, schedule: '0 6 * * 1' });
    const job = cron.spec.jobTemplate.spec;
    expect(job).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 3600 });
    const pod = job.template.spec;
    expect(pod).toMatchObject({ serviceAccountName: 'drill-cnpg-restore-drill', restartPolicy: 'Never' });
    expect(pod.imagePullSecrets).toBeUndefined();
    // A private registry or mirror: its pull secrets on the pod (kubectl create job --from copies them).
    const mirrored = render('cluster=pg', 'imagePullSecrets[0].name=regcred').find((d) => d.kind === 'CronJob')!;
    expect(mirrored.spec.jobTemplate.spec.template.spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    const [c] = pod.containers;
    expect(c.args).toEqual(['run', '--json']);
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    const env = Object.fromEntries(
      c.env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.value ?? e.valueFrom]),
    );
    expect(env).toMatchObject({
      CNPG_RESTORE_DRILL_CLUSTER: 'pg',
      CNPG_RESTORE_DRILL_NAMESPACE: { fieldRef: { fieldPath: 'metadata.namespace' } },
      CNPG_RESTORE_DRILL_TIMEOUT: '45m',
      CNPG_RESTORE_DRILL_VERIFY: 'heap',
      CNPG_RESTORE_DRILL_SLACK_WEBHOOK_URL: { secretKeyRef: { name: 'slack', key: 'webhook-url' } },
      CNPG_RESTORE_DRILL_METRICS_PUSHGATEWAY_URL: 'http://pg:9091',
    });
    // Every variable is an input the CLI reads (actions/lib/cli/args.ts), derived from action.yml.
    const known = new Set(Object.keys(DRILL_INPUTS).map(envName));
    expect(Object.keys(env).filter((n) => !known.has(n))).toEqual([]);
  });

  it('its Roles are the rules of workflows/rbac/cnpg-restore-drill.yaml, bound to its own ServiceAccount', () => {
    const rbac = parseAllDocuments(readFileSync(join(repoRoot, 'workflows/rbac/cnpg-restore-drill.yaml'), 'utf8')).map(
      (d) => d.toJSON() as Doc,
    );
    const docs = render('cluster=pg');
    expect(docs.find((d) => d.kind === 'Role')!.rules).toEqual(rbac.find((d) => d.kind === 'Role')!.rules);
    expect(docs.find((d) => d.kind === 'ClusterRole')!.rules).toEqual(
      rbac.find((d) => d.kind === 'ClusterRole')!.rules,
    );
    const binding = docs.find((d) => d.kind === 'RoleBinding') as unknown as { subjects: unknown[] };
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'drill-cnpg-restore-drill', namespace: 'databases' },
    ]);
    expect(docs.map((d) => d.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'CronJob',
      'Role',
      'RoleBinding',
      'ServiceAccount',
    ]);
    expect(render('cluster=pg', 'rbac.persistentVolumes=false').map((d) => d.kind)).not.toContain('ClusterRole');
  });

  it('values.schema.json and the chart refuse bad values with a message naming them', () => {
    const refuse = (...set: string[]) => helm('template', 'drill', chart, ...set.flatMap((s) => ['--set', s])).stderr;
    expect(refuse()).toMatch(/at '\/cluster'/);
    expect(refuse('cluster=Not_A_Name')).toMatch(/\/cluster/);
    expect(refuse('cluster=pg', 'schedule=weekly')).toMatch(/\/schedule/);
    expect(refuse('cluster=pg', 'suspend=maybe')).toMatch(/\/suspend/);
    expect(refuse('cluster=pg', 'inputs.kubeconfig=x')).toMatch(/invalid propertyName 'kubeconfig'/);
    expect(refuse('cluster=pg', 'typo=1')).toMatch(/additional properties 'typo' not allowed/);
    expect(refuse('cluster=pg', 'imagePullSecrets[0].nam=regcred')).toMatch(/\/imagePullSecrets\/0/);
  });

  it('the image: Node 24 slim, the bundle, non-root; the release job builds and pushes it to ghcr.io', () => {
    const dockerfile = readFileSync(join(repoRoot, 'workflows/helm/Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:24-slim$/m);
    expect(dockerfile).toMatch(/^COPY dist\/ \/app\/dist\/$/m);
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "\/app\/dist\/cnpg-restore-drill\/cli.js"\]$/m);
    const release = parse(readFileSync(join(repoRoot, '.github/workflows/release.yml'), 'utf8'));
    expect(release.jobs.image.permissions).toMatchObject({ packages: 'write' });
    const script = release.jobs.image.steps.map((s: { run?: string }) => s.run ?? '').join('\n');
    expect(script).toContain('npm run build');
    expect(script).toMatch(/docker build .* -t "\$image:\$version"/s);
    expect(script).toContain('-f workflows/helm/Dockerfile .');
    expect(script).toContain('docker push "$image:$version"');
  });
});
