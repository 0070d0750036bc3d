// Unit tests of the add-on model: declarations (with file:line errors), naming, registry,
// plan, the saga runner, env var building and collision logic, and input validation.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { V1Secret } from '@kubernetes/client-node';
import {
  DeclarationError,
  findAppFiles,
  lineOf,
  parseAppToml,
  readDeclarations,
} from '../../actions/lib/addons/declaration.js';
import { kubeNameFor, sqlNameFor } from '../../actions/lib/addons/naming.js';
import { REGISTRY, POSTGRESQL } from '../../actions/lib/addons/registry.js';
import { runSaga, describeSagaFailure, type SagaStep } from '../../actions/lib/addons/saga.js';
import {
  collisions,
  databaseUrl,
  envVarsFor,
  maskEnv,
  ENV_KEYS,
  OWNED_KEYS_ANNOTATION,
} from '../../actions/lib/addons/env.js';
import { planApp, variantChangeProblem, countPlan } from '../../actions/lib/addons/plan.js';
import { readConfig } from '../../actions/lib/addons/config.js';
import { targetFor } from '../../actions/lib/addons/sync.js';
import { checkNames } from '../../actions/lib/addons/names.js';
import { registrationData } from '../../actions/lib/addons/registration.js';
import { planJson, renderSummary } from '../../actions/lib/addons/report.js';
import type { Association } from '../../actions/lib/addons/types.js';
import { recordingCore } from '../helpers/recording-core.js';

const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof DeclarationError) return err.problems;
    throw err;
  }
  throw new Error('expected a DeclarationError');
};

describe('app.toml declarations', () => {
  it('reads variant and version, defaulting an empty variant', () => {
    const d = parseAppToml(
      'name = "billing"\n\n[addons.postgresql]\nvariant = "medium"\nversion = "16"\n',
      'apps/billing/app.toml',
    );
    expect(d).toEqual({
      name: 'billing',
      file: 'apps/billing/app.toml',
      addons: [{ addon: 'postgresql', variant: 'medium', version: '16' }],
    });
    expect(parseAppToml('name = "x"\n[addons.postgresql]\nvariant = ""\n', 'f').addons).toEqual([
      { addon: 'postgresql', variant: 'small' },
    ]);
    expect(parseAppToml('name = "x"\naddons = { postgresql = {} }\n', 'f').addons).toEqual([
      { addon: 'postgresql', variant: 'small' },
    ]);
  });

  it('distinguishes a missing addons table (untouched) from an empty one (remove all)', () => {
    expect(parseAppToml('name = "x"\n', 'f').addons).toBeUndefined();
    expect(parseAppToml('name = "x"\n[addons]\n', 'f').addons).toEqual([]);
  });

  it('names file, line and fix for a syntax error', () => {
    const [p] = problemsOf(() =>
      parseAppToml('name = "x"\n[addons.postgresql\nvariant = "small"\n', 'apps/x/app.toml'),
    );
    expect(p).toMatch(/^apps\/x\/app\.toml:2:\d+: invalid TOML/);
    expect(p).toMatch(/fix the syntax/);
  });

  it('names file, line and valid choices for unknown add-ons, variants and keys', () => {
    const text = 'name = "x"\n\n[addons.redis]\nvariant = "small"\n';
    expect(problemsOf(() => parseAppToml(text, 'a.toml'))).toEqual([
      `a.toml:3: unknown add-on 'redis'; valid add-ons: ${REGISTRY.map((p) => p.name).join(', ')}.`,
    ]);
    const [v] = problemsOf(() => parseAppToml('name = "x"\n[addons.postgresql]\n\nvariant = "huge"\n', 'a.toml'));
    expect(v).toBe(
      "a.toml:4: unknown variant 'huge' for postgresql; valid variants: small, medium, large, shared (default small).",
    );
    const [k] = problemsOf(() =>
      parseAppToml('name = "x"\n[addons.postgresql]\nvariant = "small"\nsize = "1Gi"\n', 'a.toml'),
    );
    expect(k).toBe("a.toml:4: unknown key 'size' in [addons.postgresql]; valid keys: variant, version.");
  });

  it('rejects app names that cannot name Kubernetes objects, and bad versions', () => {
    expect(problemsOf(() => parseAppToml('name = "Billing_App"\n', 'a.toml'))[0]).toMatch(
      /^a\.toml:1: app name 'Billing_App' must be a Kubernetes name/,
    );
    expect(
      problemsOf(() => parseAppToml('name = "x"\n[addons.postgresql]\nversion = "latest"\n', 'a.toml'))[0],
    ).toMatch(/^a\.toml:3: 'version' must be a PostgreSQL major version/);
  });

  it('lineOf finds keys under headers, dotted keys and inline tables', () => {
    expect(lineOf('a = 1\n[addons.postgresql]\nvariant = "x"\n', 'addons.postgresql', 'variant')).toBe(3);
    expect(lineOf('a = 1\naddons.redis.variant = "x"\n', 'addons', 'redis')).toBe(2);
    expect(lineOf('a = 1\naddons = { redis = {} }\n', 'addons', 'redis')).toBe(2);
  });

  it('reads files from globs, reports every bad file and duplicate names, and fails on a glob matching nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apps-'));
    for (const [app, body] of Object.entries({
      a: 'name = "a"\n',
      b: 'name = "b"\n[addons.postgresql]\nvariant = "tiny"\n',
      c: 'name = "a"\n',
      d: 'name = \n',
    })) {
      mkdirSync(join(dir, app));
      writeFileSync(join(dir, app, 'app.toml'), body);
    }
    const files = await findAppFiles(['*/app.toml'], dir);
    expect(files).toHaveLength(4);
    const problems = problemsOf(() => readDeclarations(files, dir));
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^b\/app\.toml:3: unknown variant 'tiny'/);
    expect(problems[1]).toMatch(/^d\/app\.toml:1:\d+: invalid TOML/);
    expect(problems[2]).toMatch(/^c\/app\.toml:\d+: app name 'a' is also declared by a\/app\.toml/);
    await expect(findAppFiles(['nope/*.toml'], dir)).rejects.toThrow(/Input 'apps': 'nope\/\*\.toml' matches no file/);
    // The app name defaults to the directory name.
    writeFileSync(join(dir, 'a', 'app.toml'), '[addons]\n');
    expect(readDeclarations([join(dir, 'a', 'app.toml')], dir)[0]).toMatchObject({ name: 'a', addons: [] });
  });
});

describe('naming', () => {
  it('follows the reference rules', () => {
    expect(sqlNameFor('billing-api')).toBe('billing_api');
    expect(sqlNameFor('My.App-1')).toBe('myapp_1');
    expect(sqlNameFor('9lives')).toBe('app_9lives');
    expect(sqlNameFor('postgres')).toBe('app_postgres');
    expect(sqlNameFor('pg-stats')).toBe('app_pg_stats');
    const long = sqlNameFor('9' + 'a'.repeat(80));
    expect(Buffer.byteLength(long)).toBe(63);
    expect(long.startsWith('app_9')).toBe(true);
    expect(() => sqlNameFor('---')).not.toThrow();
    expect(() => sqlNameFor('...')).toThrow(/rename the app/);
  });

  it('keeps Kubernetes names short and distinct when cut', () => {
    expect(kubeNameFor('billing', 'pg')).toBe('billing-pg');
    const a = kubeNameFor('x'.repeat(60) + 'a', 'pg');
    const b = kubeNameFor('x'.repeat(60) + 'b', 'pg');
    expect(a.length).toBeLessThanOrEqual(50);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });
});

describe('registry and registration', () => {
  it('declares locality, display name, default and display details of every variant', () => {
    for (const p of REGISTRY) {
      expect(['on_cluster', 'remote']).toContain(p.locality);
      expect(p.variants[p.defaultVariant]).toBeDefined();
      for (const v of Object.values(p.variants)) expect(v.display.storage).toBeTruthy();
    }
    expect(POSTGRESQL.locality).toBe('on_cluster');
    expect([
      POSTGRESQL.variants.small.storageGi,
      POSTGRESQL.variants.medium.storageGi,
      POSTGRESQL.variants.large.storageGi,
    ]).toEqual([1, 10, 50]);
    const reg = JSON.parse(registrationData().postgresql);
    expect(reg.locality).toBe('on_cluster');
    expect(reg.variants.medium.storage).toBe('10Gi');
    expect(JSON.parse(registrationData()['postgresql-remote']).locality).toBe('remote');
  });
});

describe('saga runner', () => {
  const trace: string[] = [];
  const step = (name: string, fail?: 'run' | 'undo', withUndo = true): SagaStep<string[]> => ({
    name,
    run: async (t) => {
      t.push(`run ${name}`);
      if (fail === 'run') throw new Error(`${name} broke`);
    },
    undo: withUndo
      ? async (t) => {
          t.push(`undo ${name}`);
          if (fail === 'undo') throw new Error(`undo ${name} broke`);
        }
      : undefined,
  });

  it('runs every step in order', async () => {
    trace.length = 0;
    const r = await runSaga([step('a'), step('b')], trace);
    expect(r).toEqual({ ok: true, completed: ['a', 'b'] });
    expect(trace).toEqual(['run a', 'run b']);
  });

  it('compensates completed steps (and the failed one) in reverse', async () => {
    trace.length = 0;
    const hooks: string[] = [];
    const r = await runSaga([step('a'), step('b', undefined, false), step('c'), step('d', 'run')], trace, {
      onStep: (p, n) => hooks.push(`${p}:${n}`),
    });
    expect(trace).toEqual(['run a', 'run b', 'run c', 'run d', 'undo d', 'undo c', 'undo a']);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.compensated).toBe(true);
    expect(r.failedStep).toBe('d');
    expect(hooks).toEqual(['run:a', 'run:b', 'run:c', 'run:d', 'undo:d', 'undo:c', 'undo:a']);
    expect(describeSagaFailure(r)).toBe("step 'd' failed: d broke; compensated (d, c, a)");
  });

  it('reports a failed compensation and stops compensating', async () => {
    trace.length = 0;
    const r = await runSaga([step('a'), step('b', 'undo'), step('c', 'run', false)], trace);
    expect(trace).toEqual(['run a', 'run b', 'run c', 'undo b']);
    if (r.ok || r.compensated) throw new Error('expected a failed compensation');
    expect(r.compensationStep).toBe('b');
    expect(describeSagaFailure(r)).toMatch(/compensation 'b' failed: undo b broke \(the next run finishes it\)/);
  });
});

describe('env vars', () => {
  const facts = { host: 'db-rw.ns.svc', port: 5432, user: 'us er@x', password: 'p@ss:/w%rd#?', database: 'my db' };
  const secret = (data: Record<string, string>, owned?: Record<string, string[]>): V1Secret => ({
    metadata: { name: 's', annotations: owned ? { [OWNED_KEYS_ANNOTATION]: JSON.stringify(owned) } : {} },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  });

  it('builds DATABASE_URL with percent-encoded userinfo that parses back', () => {
    const url = databaseUrl(facts);
    expect(url).toBe('postgresql://us%20er%40x:p%40ss%3A%2Fw%25rd%23%3F@db-rw.ns.svc:5432/my%20db');
    const u = new URL(url);
    expect(decodeURIComponent(u.username)).toBe(facts.user);
    expect(decodeURIComponent(u.password)).toBe(facts.password);
    expect(Object.keys(envVarsFor(facts)).sort()).toEqual([...ENV_KEYS].sort());
  });

  it('masks only the sensitive vars', () => {
    const { core, rec } = recordingCore();
    maskEnv(core, envVarsFor(facts));
    expect(rec.secrets.sort()).toEqual([databaseUrl(facts), facts.password].sort());
  });

  it('treats keys set by hand or by another add-on as collisions, its own keys not', () => {
    expect(collisions(undefined, 'postgresql', ENV_KEYS)).toEqual([]);
    expect(collisions(secret({ DATABASE_URL: 'mine', OTHER: 'x' }), 'postgresql', ENV_KEYS)).toEqual(['DATABASE_URL']);
    expect(
      collisions(
        secret({ DATABASE_URL: 'a', PGHOST: 'h' }, { postgresql: ['DATABASE_URL', 'PGHOST'] }),
        'postgresql',
        ENV_KEYS,
      ),
    ).toEqual([]);
    expect(
      collisions(secret({ DATABASE_URL: 'a' }, { 'postgresql-remote': ['DATABASE_URL'] }), 'postgresql', ENV_KEYS),
    ).toEqual(['DATABASE_URL']);
  });
});

describe('plan', () => {
  const { core } = recordingCore({ apps: 'apps/*/app.toml' });
  const config = readConfig(core);
  const target = targetFor(config, 'shop');
  const assoc = (over: Partial<Association>): Association => ({
    app: 'shop',
    addon: 'postgresql',
    variant: 'small',
    locality: 'on_cluster',
    status: 'active',
    target,
    injectedKeys: [...ENV_KEYS].sort(),
    resources: [],
    ...over,
  });
  const owned = {
    metadata: {
      name: 'shop-env',
      annotations: { [OWNED_KEYS_ANNOTATION]: JSON.stringify({ postgresql: [...ENV_KEYS].sort() }) },
    },
    data: Object.fromEntries(ENV_KEYS.map((k) => [k, 'eA=='])),
  } as V1Secret;
  const decl = (addons?: { addon: string; variant: string; version?: string }[]) => ({
    name: 'shop',
    file: 'apps/shop/app.toml',
    addons,
  });

  it('uses documented defaults for targets', () => {
    expect(target).toEqual({ app: 'shop', namespace: 'shop', envSecret: 'shop-env', deployment: 'shop' });
  });

  it('plans create, unchanged, reinject, grow and remove', () => {
    expect(
      planApp(decl([{ addon: 'postgresql', variant: 'small' }]), target, [], undefined, config).items[0],
    ).toMatchObject({ action: 'create', kind: 'provision', destructive: false });
    expect(
      planApp(decl([{ addon: 'postgresql', variant: 'small' }]), target, [assoc({})], owned, config).items[0],
    ).toMatchObject({ action: 'unchanged' });
    expect(
      planApp(decl([{ addon: 'postgresql', variant: 'small' }]), target, [assoc({})], undefined, config).items[0],
    ).toMatchObject({ action: 'update', kind: 'reinject' });
    const grow = planApp(decl([{ addon: 'postgresql', variant: 'large' }]), target, [assoc({})], owned, config)
      .items[0];
    expect(grow).toMatchObject({ action: 'update', kind: 'grow', fromVariant: 'small' });
    expect(grow.blocked).toBeUndefined();
    const removal = planApp(decl([]), target, [assoc({})], owned, config);
    expect(removal.items[0]).toMatchObject({ action: 'remove', destructive: true });
    expect(removal.items[0].changes.join(' ')).toMatch(/DELETE the dedicated Cluster/);
    expect(countPlan([removal])).toEqual({ create: 0, update: 0, remove: 1, unchanged: 0, blocked: 0 });
  });

  it('leaves apps without an addons table untouched', () => {
    const p = planApp(decl(undefined), target, [assoc({})], owned, config);
    expect(p.untouched).toBe(true);
    expect(p.items[0].action).toBe('unchanged');
  });

  it('blocks shrink, dedicated<->shared, version changes and collisions with a message naming the app and the fix', () => {
    const shrink = planApp(
      decl([{ addon: 'postgresql', variant: 'small' }]),
      target,
      [assoc({ variant: 'medium' })],
      owned,
      config,
    ).items[0];
    expect(shrink.blocked).toMatch(
      /app 'shop': postgresql cannot shrink from 'medium' \(10Gi\) to 'small' \(1Gi\).*Keep variant = "medium"/,
    );
    expect(variantChangeProblem('shop', 'postgresql', POSTGRESQL.variants.small, POSTGRESQL.variants.shared)).toMatch(
      /cannot move from 'small' \(dedicated\) to 'shared' \(shared\)/,
    );
    const version = planApp(
      decl([{ addon: 'postgresql', variant: 'small', version: '16' }]),
      target,
      [assoc({})],
      owned,
      config,
    ).items[0];
    expect(version.blocked).toMatch(/major upgrade/);
    const hand = { metadata: { name: 'shop-env' }, data: { DATABASE_URL: 'eA==', PGHOST: 'eA==' } } as V1Secret;
    const clash = planApp(decl([{ addon: 'postgresql', variant: 'small' }]), target, [], hand, config).items[0];
    expect(clash.blocked).toMatch(/DATABASE_URL, PGHOST already set in Secret shop\/shop-env by hand/);
  });

  it('finishes an unfinished removal or compensation before provisioning again', () => {
    const p = planApp(
      decl([{ addon: 'postgresql', variant: 'shared' }]),
      target,
      [assoc({ status: 'provisioning', variant: 'small' })],
      undefined,
      config,
    ).items[0];
    expect(p).toMatchObject({ action: 'create', finishRemovalFirst: true });
    const q = planApp(
      decl([{ addon: 'postgresql', variant: 'small' }]),
      target,
      [assoc({ status: 'deprovisioning', intent: 'compensate' })],
      undefined,
      config,
    ).items[0];
    expect(q.finishRemovalFirst).toBe(true);
    const r = planApp(
      decl([{ addon: 'postgresql', variant: 'small' }]),
      target,
      [assoc({ status: 'error', reason: 'x' })],
      undefined,
      config,
    ).items[0];
    expect(r).toMatchObject({ action: 'create', finishRemovalFirst: false });
  });

  it('reports the plan as JSON and a summary table without secrets', async () => {
    const plans = [planApp(decl([{ addon: 'postgresql', variant: 'shared' }]), target, [], undefined, config)];
    const json = JSON.parse(planJson(plans));
    expect(json[0].items[0]).toMatchObject({
      addon: 'postgresql',
      variant: 'shared',
      locality: 'on_cluster',
      action: 'create',
      destructive: false,
    });
    expect(renderSummary('plan', plans)).toMatch(/\| shop \| postgresql \| shared \| on_cluster \| planned \| create/);
  });
});

describe('inputs', () => {
  const fail = (inputs: Record<string, string>) => {
    try {
      readConfig(recordingCore({ apps: 'a/app.toml', ...inputs }).core);
    } catch (err) {
      return (err as Error).message;
    }
    return 'no error';
  };
  it('validates every input with one message naming it and the fix', () => {
    expect(fail({ apps: '' })).toMatch(/^Input 'apps': is required/);
    expect(fail({ mode: 'yolo' })).toBe("Input 'mode': 'yolo' is not one of: plan, apply.");
    expect(fail({ 'backup-destination-path': 's3://b/p', 'backup-schedule': '0 3 * * *' })).toMatch(
      /^Input 'backup-schedule': schedule '0 3 \* \* \*' has five fields/,
    );
    expect(fail({ 'backup-credentials-secret': 'x' })).toMatch(
      /^Input 'backup-credentials-secret': is set but backup-destination-path is not/,
    );
    expect(fail({ 'namespace-template': 'apps' })).toMatch(/^Input 'namespace-template': 'apps' must contain \{app\}/);
    expect(fail({ reclaim: 'keep' })).toMatch(/^Input 'reclaim'/);
    expect(fail({ 'addons-namespace': 'Bad_NS' })).toMatch(/^Input 'addons-namespace'/);
    expect(fail({ 'postgres-image': 'postgres:16' })).toMatch(/^Input 'postgres-image'/);
    expect(fail({})).toBe('no error');
  });
});

describe('names the API server and CNPG will refuse, before any change', () => {
  const config = readConfig(recordingCore({ apps: 'a/app.toml' }).core);
  const decl = (name: string, variant = 'small') =>
    parseAppToml(`name = "${name}"\n[addons.postgresql]\nvariant = "${variant}"\n`, `apps/${name}/app.toml`);
  it("refuses an app whose dedicated Cluster '<app>-pg' is not a DNS-1035 label (CNPG validateName)", () => {
    expect(problemsOf(() => checkNames(config, [decl('1billing')]))).toEqual([
      "apps/1billing/app.toml: app '1billing': its dedicated postgresql Cluster would be named '1billing-pg', which CNPG refuses (a DNS-1035 label: it must start with a letter); rename the app to start with a letter.",
    ]);
    expect(() => checkNames(config, [decl('billing'), decl('b1')])).not.toThrow();
  });
  it('refuses a namespace the template makes longer than a DNS-1123 label', () => {
    const c = readConfig(recordingCore({ apps: 'a/app.toml', 'namespace-template': 'team-{app}' }).core);
    const app = `a${'b'.repeat(59)}`;
    expect(problemsOf(() => checkNames(c, [decl(app, 'shared')]))).toEqual([
      `apps/${app}/app.toml: app '${app}': namespace 'team-${app}' (namespace-template) is not a DNS-1123 label; rename the app.`,
    ]);
  });
});
