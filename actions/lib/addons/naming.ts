// Database and role names from app names: lower-case,
// `-` to `_`, other characters dropped, a leading digit prefixed, at most 63 bytes
// (PostgreSQL's NAMEDATALEN - 1). Names PostgreSQL reserves get the same prefix.
import { createHash } from 'node:crypto';

const PREFIX = 'app_';
const RESERVED = new Set(['postgres', 'template0', 'template1', 'public']);

export function sqlNameFor(app: string): string {
  let name = app
    .toLowerCase()
    .replace(/-/g, '_')
    .replace(/[^a-z0-9_]/g, '');
  if (!name)
    throw new Error(`app name '${app}' has no letters or digits to make a database name from; rename the app.`);
  if (/^[0-9]/.test(name) || RESERVED.has(name) || name.startsWith('pg_')) name = PREFIX + name;
  return truncateBytes(name, 63);
}

function truncateBytes(s: string, max: number): string {
  // Only ASCII survives the filter above, so bytes == characters.
  return s.length <= max ? s : s.slice(0, max);
}

/** A Kubernetes name `<base>-<suffix>` within `max` characters, hashed when the base must be cut. */
export function kubeNameFor(base: string, suffix: string, max = 50): string {
  const full = `${base}-${suffix}`;
  if (full.length <= max) return full;
  const hash = createHash('sha256').update(base).digest('hex').slice(0, 6);
  const room = max - suffix.length - hash.length - 2;
  return `${base.slice(0, room).replace(/-+$/, '')}-${hash}-${suffix}`;
}

/** A DNS-1123 label (what app names must be, since they name namespaces and Secrets). */
export function isDnsLabel(s: string): boolean {
  return /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s) && s.length <= 63;
}

/** Expands `{app}` in a template input. */
export function fromTemplate(template: string, app: string): string {
  return template.replace(/\{app\}/g, app);
}
