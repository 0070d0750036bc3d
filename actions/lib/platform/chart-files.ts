// Reads files of a chart and its subcharts as helm sees them: subcharts are directories under
// charts/ or packaged archives (charts/<name>-<version>.tgz, what `helm dependency update`
// writes). Used to find the template behind a rendered object and a subchart's appVersion.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';

export interface ChartMeta {
  name: string;
  version: string;
  appVersion?: string;
  dependencies?: { name: string; alias?: string; condition?: string }[];
}

/** A chart's files by path relative to the chart root. */
export type ChartFiles = (path: string) => string | undefined;

export interface ChartLocation {
  files: ChartFiles;
  /** Packaged subcharts (charts/*.tgz) of a chart on disk; archives inside archives are not read. */
  archives: () => string[];
  /** Set for charts on disk (the root and vendored subchart directories). */
  dir?: string;
  /** Values prefix from the root chart, e.g. ['cloudnative-pg'] for a subchart. */
  valuesPath: string[];
}

export class ChartTree {
  private readonly cache = new Map<string, ChartLocation | undefined>();

  constructor(readonly root: string) {}

  /**
   * Splits a helm `# Source:` path (root/charts/sub/templates/x.yaml) into the chart that holds
   * it and the file inside that chart.
   */
  locate(source: string): { chart: ChartLocation; file: string } | undefined {
    const parts = source.split('/');
    let key = parts[0];
    let chart = this.rootLocation();
    let i = 1;
    while (parts[i] === 'charts' && i + 2 < parts.length) {
      const name = parts[i + 1];
      key += `/charts/${name}`;
      const parent = chart;
      const cached = this.cache.has(key) ? this.cache.get(key) : subchart(parent, name);
      this.cache.set(key, cached);
      if (!cached) return undefined;
      chart = cached;
      i += 2;
    }
    return { chart, file: parts.slice(i).join('/') };
  }

  meta(source: string): ChartMeta | undefined {
    const at = this.locate(source);
    const text = at?.chart.files('Chart.yaml');
    return text ? (parseYaml(text) as ChartMeta) : undefined;
  }

  rootMeta(): ChartMeta | undefined {
    const text = this.rootLocation().files('Chart.yaml');
    return text ? (parseYaml(text) as ChartMeta) : undefined;
  }

  private rootLocation(): ChartLocation {
    return dirLocation(this.root, []);
  }
}

function subchart(parent: ChartLocation, name: string): ChartLocation | undefined {
  // An alias renames the subchart in helm's output and in the values tree; the files keep the chart name.
  const meta = parseYaml(parent.files('Chart.yaml') ?? '{}') as ChartMeta;
  const dep = meta.dependencies?.find((d) => (d.alias ?? d.name) === name);
  const chartName = dep?.name ?? name;
  const valuesPath = [...parent.valuesPath, name];
  if (parent.files(`charts/${chartName}/Chart.yaml`) !== undefined) {
    const prefix = `charts/${chartName}/`;
    return parent.dir
      ? dirLocation(join(parent.dir, prefix), valuesPath)
      : { files: (p) => parent.files(prefix + p), archives: () => [], valuesPath };
  }
  for (const archive of parent.archives()) {
    const entries = readTgz(archive);
    const top = `${chartName}/`;
    if (entries.has(`${top}Chart.yaml`)) return { files: (p) => entries.get(top + p), archives: () => [], valuesPath };
  }
  return undefined;
}

function dirLocation(dir: string, valuesPath: string[]): ChartLocation {
  return {
    dir,
    valuesPath,
    files: (p) => {
      const full = join(dir, p);
      return existsSync(full) && statSync(full).isFile() ? readFileSync(full, 'utf8') : undefined;
    },
    archives: () => {
      const charts = join(dir, 'charts');
      return existsSync(charts)
        ? readdirSync(charts)
            .filter((f) => f.endsWith('.tgz'))
            .map((f) => join(charts, f))
        : [];
    },
  };
}

/** Minimal reader for helm's chart archives (gzip'd tar; ustar names, PAX `path` records). */
export function readTgz(path: string): Map<string, string> {
  const buf = gunzipSync(readFileSync(path));
  const out = new Map<string, string>();
  let off = 0;
  let paxPath: string | undefined;
  while (off + 512 <= buf.length) {
    const header = buf.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const str = (a: number, n: number) =>
      header
        .subarray(a, a + n)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const size = parseInt(str(124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 48);
    const prefix = str(345, 155);
    const name = paxPath ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
    const body = buf.subarray(off + 512, off + 512 + size);
    paxPath = undefined;
    if (type === 'x') {
      paxPath = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1];
    } else if (type === '0' || type === '\0') {
      out.set(name, body.toString('utf8'));
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
