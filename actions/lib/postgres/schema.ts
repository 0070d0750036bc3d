// Schema snapshot of every user schema of one database, and the diff of two snapshots
// (live vs restored). One catalog query per object class, all in one REPEATABLE READ
// READ ONLY transaction, so 1,000 tables cost the same eight round trips as ten and every
// class is read from the same catalog state.
import type pg from 'pg';
import { displayName } from './ident.js';
import { describeLock, exclusiveLocks, isTimeout } from './locks.js';
import type { ReadOnlyDb } from './readonly.js';
import { describeError } from '../errors.js';

export interface TableRef {
  schema: string;
  name: string;
}

export interface ColumnInfo {
  name: string;
  /** format_type(atttypid, atttypmod), e.g. `character varying(20)`. */
  type: string;
  notNull: boolean;
  /** Default expression; identity and generated columns are spelled as such (`GENERATED ALWAYS AS IDENTITY`). */
  default?: string;
}

export interface TableInfo extends TableRef {
  kind: 'table' | 'partitioned' | 'foreign';
  persistence: 'permanent' | 'unlogged';
  /** `schema.name` (display form) of the parent when this table is a declarative partition. */
  partitionOf?: string;
  /** pg_get_expr(relpartbound), e.g. `FOR VALUES FROM (1) TO (100)`, for partitions. */
  partitionBound?: string;
  columns: ColumnInfo[];
  primaryKey?: string[];
  replicaIdentity: 'default' | 'full' | 'index' | 'nothing';
  /** pg_table_size (heap + TOAST, no indexes); 0 for partitioned parents and foreign tables. */
  sizeBytes: number;
}

export interface SchemaSnapshot {
  database: string;
  extensions: { name: string; version: string }[];
  schemas: string[];
  tables: TableInfo[];
  indexes: { schema: string; table: string; name: string; definition: string }[];
  constraints: { schema: string; table: string; name: string; type: string; definition: string }[];
  sequences: { schema: string; name: string; dataType: string }[];
  views: { schema: string; name: string; materialized: boolean; definition: string }[];
}

export interface SchemaDifference {
  /** missing = on live, not in restored; extra = in restored, not on live. */
  kind: 'missing' | 'extra' | 'changed';
  objectType:
    | 'schema'
    | 'table'
    | 'column'
    | 'index'
    | 'constraint'
    | 'sequence'
    | 'view'
    | 'materialized view'
    | 'extension'
    | 'partition';
  name: string;
  detail: string;
}

const SYSTEM_SCHEMAS = ['pg_catalog', 'information_schema'];

// $1 = the system schemas. pg_toast* / pg_temp_* are per-backend or internal and never user data.
const SCHEMA_FILTER = `n.nspname <> ALL($1::text[])
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;

const SQL = {
  database: `SELECT current_database() AS database`,
  extensions: `SELECT extname AS name, extversion AS version FROM pg_extension`,
  schemas: `SELECT n.nspname AS schema FROM pg_namespace n WHERE ${SCHEMA_FILTER}`,
  tables: `SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, c.relpersistence AS persistence,
      c.relreplident AS replident, pn.nspname AS parent_schema, p.relname AS parent_name,
      CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound,
      coalesce(pg_table_size(c.oid), 0)::float8 AS size
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_inherits i ON c.relispartition AND i.inhrelid = c.oid
    LEFT JOIN pg_class p ON p.oid = i.inhparent
    LEFT JOIN pg_namespace pn ON pn.oid = p.relnamespace
    WHERE c.relkind IN ('r', 'p', 'f') AND ${SCHEMA_FILTER}`,
  columns: `SELECT n.nspname AS schema, c.relname AS table, a.attname AS name, a.attnum AS num,
      format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
      pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity AS identity, a.attgenerated AS generated
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped AND ${SCHEMA_FILTER}`,
  indexes: `SELECT n.nspname AS schema, t.relname AS table, ic.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE ${SCHEMA_FILTER}`,
  constraints: `SELECT n.nspname AS schema, c.relname AS table, k.conname AS name, k.contype AS type,
      pg_get_constraintdef(k.oid) AS definition,
      CASE WHEN k.contype = 'p' THEN ARRAY(
        SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.ord) END AS key_columns
    FROM pg_constraint k
    JOIN pg_class c ON c.oid = k.conrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE k.conrelid <> 0 AND ${SCHEMA_FILTER}`,
  sequences: `SELECT n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS data_type
    FROM pg_sequence s
    JOIN pg_class c ON c.oid = s.seqrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${SCHEMA_FILTER}`,
  views: `SELECT n.nspname AS schema, c.relname AS name, c.relkind = 'm' AS materialized, pg_get_viewdef(c.oid) AS definition
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('v', 'm') AND ${SCHEMA_FILTER}`,
};

const TABLE_KINDS: Record<string, TableInfo['kind']> = { r: 'table', p: 'partitioned', f: 'foreign' };
const REPLICA_IDENTITIES: Record<string, TableInfo['replicaIdentity']> = {
  d: 'default',
  f: 'full',
  i: 'index',
  n: 'nothing',
};
const CONSTRAINT_TYPES: Record<string, string> = {
  p: 'primary key',
  f: 'foreign key',
  u: 'unique',
  c: 'check',
  x: 'exclusion',
  t: 'trigger',
};

/** Collapse whitespace runs so pretty-printing differences never count as drift. */
export function normaliseSql(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim();
}

/** Code-unit order, independent of either database's collation. */
function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}

function sortBy<T>(items: T[], key: (item: T) => string[]): T[] {
  return items.sort((x, y) => compareKeys(key(x), key(y)));
}

function columnDefault(row: { default: string | null; identity: string; generated: string }): string | undefined {
  if (row.identity === 'a') return 'GENERATED ALWAYS AS IDENTITY';
  if (row.identity === 'd') return 'GENERATED BY DEFAULT AS IDENTITY';
  if (row.generated === 's') return `GENERATED ALWAYS AS (${row.default ?? ''}) STORED`;
  return row.default ?? undefined;
}

export async function snapshotSchema(db: ReadOnlyDb): Promise<SchemaSnapshot> {
  try {
    return await readSnapshot(db);
  } catch (err) {
    if (!isTimeout(err)) throw err;
    // pg_get_*def and pg_table_size wait for a table held ACCESS EXCLUSIVE: say which one.
    const locks = await exclusiveLocks(db);
    const why = locks.length ? `: ${locks.map(describeLock).join('; ')}` : '';
    throw new Error(`schema snapshot of database '${db.conn.database}' timed out (${describeError(err)})${why}`, {
      cause: err,
    });
  }
}

interface TableRow {
  schema: string;
  name: string;
  kind: string;
  persistence: string;
  replident: string;
  parent_schema: string | null;
  parent_name: string | null;
  bound: string | null;
  size: number;
}
interface ColumnRow {
  schema: string;
  table: string;
  name: string;
  num: number;
  type: string;
  not_null: boolean;
  default: string | null;
  identity: string;
  generated: string;
}
interface ConstraintRow {
  schema: string;
  table: string;
  name: string;
  type: string;
  definition: string;
  key_columns: string[] | null;
}
type Query = <T extends pg.QueryResultRow>(sql: string, params?: unknown[]) => Promise<T[]>;

async function readSnapshot(db: ReadOnlyDb): Promise<SchemaSnapshot> {
  const params = [SYSTEM_SCHEMAS];
  return db.transaction(async (q) => {
    // Definitions name every object schema-qualified, whatever the connecting role's search_path,
    // so live (superuser) and restored (app user) snapshots compare like for like.
    await q('SET LOCAL search_path = pg_catalog');
    const [{ database }] = await q<{ database: string }>(SQL.database);
    const extensions = await q<{ name: string; version: string }>(SQL.extensions);
    const schemas = await q<{ schema: string }>(SQL.schemas, params);
    const tables = await readTables(q, params);
    const indexes = await q<{ schema: string; table: string; name: string; definition: string }>(SQL.indexes, params);
    const constraints = await q<ConstraintRow>(SQL.constraints, params);
    const sequences = await q<{ schema: string; name: string; data_type: string }>(SQL.sequences, params);
    const views = await q<{ schema: string; name: string; materialized: boolean; definition: string }>(
      SQL.views,
      params,
    );
    return {
      database,
      extensions: sortBy(extensions, (e) => [e.name]),
      schemas: schemas.map((s) => s.schema).sort((a, b) => compareKeys([a], [b])),
      tables: sortBy(withPrimaryKeys(tables, constraints), (t) => [t.schema, t.name]),
      indexes: sortBy(
        indexes.map((i) => ({ ...i, definition: normaliseSql(i.definition) })),
        (i) => [i.schema, i.table, i.name],
      ),
      constraints: sortBy(
        constraints.map((k) => ({
          schema: k.schema,
          table: k.table,
          name: k.name,
          type: CONSTRAINT_TYPES[k.type] ?? k.type,
          definition: normaliseSql(k.definition),
        })),
        (k) => [k.schema, k.table, k.name],
      ),
      sequences: sortBy(
        sequences.map((s) => ({ schema: s.schema, name: s.name, dataType: s.data_type })),
        (s) => [s.schema, s.name],
      ),
      views: sortBy(
        views.map((v) => ({ ...v, definition: normaliseSql(v.definition ?? '') })),
        (v) => [v.schema, v.name],
      ),
    };
  }, 'REPEATABLE READ');
}

const tableKey = (schema: string, name: string) => `${schema}\0${name}`;

/** Tables with their columns in column order (primary keys are added from the constraints). */
async function readTables(q: Query, params: unknown[]): Promise<TableInfo[]> {
  const tableRows = await q<TableRow>(SQL.tables, params);
  const columnRows = await q<ColumnRow>(SQL.columns, params);
  const columnsByTable = new Map<string, (ColumnInfo & { num: number })[]>();
  for (const c of columnRows) {
    const key = tableKey(c.schema, c.table);
    const list = columnsByTable.get(key) ?? [];
    const def = columnDefault(c);
    list.push({
      name: c.name,
      type: c.type,
      notNull: c.not_null,
      ...(def !== undefined && { default: def }),
      num: c.num,
    });
    columnsByTable.set(key, list);
  }
  return tableRows.map((t) => ({
    schema: t.schema,
    name: t.name,
    kind: TABLE_KINDS[t.kind] ?? 'table',
    persistence: t.persistence === 'u' ? 'unlogged' : 'permanent',
    ...(t.parent_name !== null && { partitionOf: displayName(t.parent_schema ?? '', t.parent_name) }),
    ...(t.bound !== null && { partitionBound: t.bound }),
    columns: (columnsByTable.get(tableKey(t.schema, t.name)) ?? [])
      .sort((a, b) => a.num - b.num)
      .map(({ num: _num, ...c }) => c),
    replicaIdentity: REPLICA_IDENTITIES[t.replident] ?? 'default',
    sizeBytes: Number(t.size),
  }));
}

function withPrimaryKeys(tables: TableInfo[], constraints: ConstraintRow[]): TableInfo[] {
  const primaryKeys = new Map<string, string[]>();
  for (const k of constraints)
    if (k.type === 'p' && k.key_columns) primaryKeys.set(tableKey(k.schema, k.table), k.key_columns);
  return tables.map((t) => {
    const primaryKey = primaryKeys.get(tableKey(t.schema, t.name));
    if (!primaryKey) return t;
    // Same key order as before: primaryKey right after columns.
    const { replicaIdentity, sizeBytes, ...rest } = t;
    return { ...rest, primaryKey, replicaIdentity, sizeBytes };
  });
}

/** Tables whose rows to count: permanent leaf tables and partitions; never partitioned parents (their
 * rows live in the leaves, counting both would double), foreign tables (remote data) nor unlogged ones. */
export function userTables(s: SchemaSnapshot): TableRef[] {
  return leafTables(s, 'permanent');
}

/**
 * Unlogged leaf tables and partitions: a restore has them empty (the end of recovery resets every
 * unlogged relation to its empty init fork), so their rows are never compared; their structure is
 * in the catalog and is (diffSchemas).
 */
export function unloggedTables(s: SchemaSnapshot): TableRef[] {
  return leafTables(s, 'unlogged');
}

function leafTables(s: SchemaSnapshot, persistence: TableInfo['persistence']): TableRef[] {
  return s.tables
    .filter((t) => t.kind === 'table' && t.persistence === persistence)
    .map((t) => ({ schema: t.schema, name: t.name }));
}

// ---- diff ----

type ObjectType = SchemaDifference['objectType'];

/** Pair up objects by key; report missing/extra, hand pairs to `changed`. */
function diffKeyed<T>(
  live: T[],
  restored: T[],
  key: (item: T) => string[],
  describe: (item: T, kind: 'missing' | 'extra') => { objectType: ObjectType; name: string; contents?: string },
  changed: (a: T, b: T) => SchemaDifference[],
  skip: (item: T) => boolean = () => false,
): SchemaDifference[] {
  const restoredByKey = new Map(restored.map((r) => [key(r).join('\0'), r]));
  const liveKeys = new Set(live.map((l) => key(l).join('\0')));
  const out: { sort: string[]; diff: SchemaDifference }[] = [];
  const note = (item: T, kind: 'missing' | 'extra') => {
    const d = describe(item, kind);
    const where =
      kind === 'missing' ? 'on live, absent from the restored database' : 'in the restored database, absent on live';
    out.push({
      sort: key(item),
      diff: { kind, objectType: d.objectType, name: d.name, detail: d.contents ? `${where} (${d.contents})` : where },
    });
  };
  for (const l of live) {
    if (skip(l)) continue;
    const r = restoredByKey.get(key(l).join('\0'));
    if (r === undefined) note(l, 'missing');
    else for (const diff of changed(l, r)) out.push({ sort: key(l), diff });
  }
  for (const r of restored) if (!skip(r) && !liveKeys.has(key(r).join('\0'))) note(r, 'extra');
  return out.sort((a, b) => compareKeys(a.sort, b.sort)).map((o) => o.diff);
}

function plural(n: number, word: string, words = `${word}s`): string {
  return `${n} ${n === 1 ? word : words}`;
}

function changedField(
  objectType: ObjectType,
  name: string,
  what: string,
  live: string | undefined,
  restored: string | undefined,
): SchemaDifference[] {
  if (live === restored) return [];
  const show = (v: string | undefined) => (v === undefined ? 'none' : v);
  return [{ kind: 'changed', objectType, name, detail: `${what}: ${show(live)} on live, ${show(restored)} restored` }];
}

function diffColumns(table: TableInfo, live: ColumnInfo[], restored: ColumnInfo[]): SchemaDifference[] {
  const name = (c: ColumnInfo) => displayName(table.schema, table.name, c.name);
  return diffKeyed(
    live,
    restored,
    (c) => [c.name],
    (c) => ({ objectType: 'column', name: name(c), contents: c.type }),
    (a, b) => [
      ...changedField('column', name(a), 'type', a.type, b.type),
      ...changedField('column', name(a), 'not null', String(a.notNull), String(b.notNull)),
      ...changedField('column', name(a), 'default', a.default, b.default),
    ],
  );
}

function diffTable(a: TableInfo, b: TableInfo): SchemaDifference[] {
  const name = displayName(a.schema, a.name);
  const type: ObjectType = a.partitionOf || b.partitionOf ? 'partition' : 'table';
  return [
    ...changedField(type, name, 'kind', a.kind, b.kind),
    ...changedField(type, name, 'persistence', a.persistence, b.persistence),
    ...changedField('partition', name, 'partition of', a.partitionOf, b.partitionOf),
    ...changedField('partition', name, 'partition bound', a.partitionBound, b.partitionBound),
    ...changedField(type, name, 'primary key', a.primaryKey?.join(', '), b.primaryKey?.join(', ')),
    ...changedField(type, name, 'replica identity', a.replicaIdentity, b.replicaIdentity),
    ...diffColumns(a, a.columns, b.columns),
  ];
}

/**
 * Every difference between two snapshots; [] when they match. Objects inside a missing/extra
 * schema or table are summarised on that one line rather than listed one by one. Sizes, sequence
 * values and row counts are data, not schema, and are not compared here.
 */
export function diffSchemas(live: SchemaSnapshot, restored: SchemaSnapshot): SchemaDifference[] {
  const scope = diffScope(live, restored);
  return [...diffContainers(scope), ...diffTableObjects(scope), ...diffOthers(scope)];
}

/** Both snapshots, and what decides whether an object gets its own line. */
interface DiffScope {
  live: SchemaSnapshot;
  restored: SchemaSnapshot;
  bothSchemas(schema: string): boolean;
  /** Indexes/constraints of a relation that exists on one side only are covered by that relation's line. */
  onBothRelations(o: { schema: string; table: string }): boolean;
  sideOf(kind: 'missing' | 'extra'): SchemaSnapshot;
}

function diffScope(live: SchemaSnapshot, restored: SchemaSnapshot): DiffScope {
  const liveSchemas = new Set(live.schemas);
  const restoredSchemas = new Set(restored.schemas);
  const relationKeys = (s: SchemaSnapshot) => new Set([...s.tables, ...s.views].map((t) => tableKey(t.schema, t.name)));
  const liveRelations = relationKeys(live);
  const restoredRelations = relationKeys(restored);
  return {
    live,
    restored,
    bothSchemas: (schema) => liveSchemas.has(schema) && restoredSchemas.has(schema),
    onBothRelations: (o) =>
      liveRelations.has(tableKey(o.schema, o.table)) && restoredRelations.has(tableKey(o.schema, o.table)),
    sideOf: (kind) => (kind === 'missing' ? live : restored),
  };
}

function schemaContents(s: SchemaSnapshot, schema: string): string {
  const n = (list: { schema: string }[]) => list.filter((o) => o.schema === schema).length;
  const parts = [
    n(s.tables) && plural(n(s.tables), 'table'),
    n(s.views) && plural(n(s.views), 'view'),
    n(s.sequences) && plural(n(s.sequences), 'sequence'),
  ].filter(Boolean);
  return parts.length ? `contains ${parts.join(', ')}` : 'empty';
}

function tableContents(s: SchemaSnapshot, t: TableInfo): string {
  const own = (o: { schema: string; table: string }) => o.schema === t.schema && o.table === t.name;
  return [
    plural(t.columns.length, 'column'),
    plural(s.indexes.filter(own).length, 'index', 'indexes'),
    plural(s.constraints.filter(own).length, 'constraint'),
    t.partitionOf && `partition of ${t.partitionOf}`,
  ]
    .filter(Boolean)
    .join(', ');
}

/** Extensions, schemas and tables (with their columns). */
function diffContainers({ live, restored, bothSchemas, sideOf }: DiffScope): SchemaDifference[] {
  return [
    ...diffKeyed(
      live.extensions,
      restored.extensions,
      (e) => [e.name],
      (e) => ({ objectType: 'extension', name: e.name, contents: `version ${e.version}` }),
      (a, b) => changedField('extension', a.name, 'version', a.version, b.version),
    ),
    ...diffKeyed(
      live.schemas,
      restored.schemas,
      (s) => [s],
      (s, kind) => ({ objectType: 'schema', name: displayName(s), contents: schemaContents(sideOf(kind), s) }),
      () => [],
    ),
    ...diffKeyed(
      live.tables,
      restored.tables,
      (t) => [t.schema, t.name],
      (t, kind) => ({
        objectType: t.partitionOf ? 'partition' : 'table',
        name: displayName(t.schema, t.name),
        contents: tableContents(sideOf(kind), t),
      }),
      diffTable,
      (t) => !bothSchemas(t.schema),
    ),
  ];
}

/** Indexes and constraints of relations present on both sides. */
function diffTableObjects({ live, restored, bothSchemas, onBothRelations }: DiffScope): SchemaDifference[] {
  return [
    ...diffKeyed(
      live.indexes,
      restored.indexes,
      (i) => [i.schema, i.table, i.name],
      (i) => ({ objectType: 'index', name: displayName(i.schema, i.name), contents: i.definition }),
      (a, b) => changedField('index', displayName(a.schema, a.name), 'definition', a.definition, b.definition),
      (i) => !bothSchemas(i.schema) || !onBothRelations(i),
    ),
    ...diffKeyed(
      live.constraints,
      restored.constraints,
      (k) => [k.schema, k.table, k.name],
      (k) => ({
        objectType: 'constraint',
        name: displayName(k.schema, k.table, k.name),
        contents: `${k.type}: ${k.definition}`,
      }),
      (a, b) => [
        ...changedField('constraint', displayName(a.schema, a.table, a.name), 'type', a.type, b.type),
        ...changedField('constraint', displayName(a.schema, a.table, a.name), 'definition', a.definition, b.definition),
      ],
      (k) => !bothSchemas(k.schema) || !onBothRelations(k),
    ),
  ];
}

/** Sequences and views. */
function diffOthers({ live, restored, bothSchemas }: DiffScope): SchemaDifference[] {
  return [
    ...diffKeyed(
      live.sequences,
      restored.sequences,
      (s) => [s.schema, s.name],
      (s) => ({ objectType: 'sequence', name: displayName(s.schema, s.name), contents: s.dataType }),
      (a, b) => changedField('sequence', displayName(a.schema, a.name), 'data type', a.dataType, b.dataType),
      (s) => !bothSchemas(s.schema),
    ),
    ...diffKeyed(
      live.views,
      restored.views,
      (v) => [v.schema, v.name],
      (v) => ({ objectType: v.materialized ? 'materialized view' : 'view', name: displayName(v.schema, v.name) }),
      (a, b) => {
        const name = displayName(a.schema, a.name);
        const type: ObjectType = a.materialized ? 'materialized view' : 'view';
        if (a.materialized !== b.materialized) {
          const kind = (m: boolean) => (m ? 'materialized view' : 'view');
          return changedField(type, name, 'kind', kind(a.materialized), kind(b.materialized));
        }
        return changedField(type, name, 'definition', a.definition, b.definition);
      },
      (v) => !bothSchemas(v.schema),
    ),
  ];
}
