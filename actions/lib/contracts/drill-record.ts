// The drill record: what cnpg-restore-drill writes (actions/lib/drill/record.ts) and
// soak-gate-check reads (actions/lib/soak/drill-record.ts). Shared by two actions, so it lives
// here; a change is a change of both. Format, stable for readers:
//
//   ConfigMap  <namespace>/cnpg-restore-drill-<source cluster>   (name truncated to 253), in the
//              source's namespace; at a sandbox or DR site (live read-only there) in the site's
//              namespace as cnpg-restore-drill-<source namespace>-<source cluster>, so that two
//              sources of one name drilled into one sandbox keep separate histories
//   labels     app.kubernetes.io/managed-by: cnpg-restore-drill
//              cnpg-actions.io/drill-history-of: <source cluster>
//              cnpg-actions.io/drill-history-namespace: <source namespace> (absent before v1.1)
//   data.drills  JSON array, newest LAST, at most `history-size` entries, of
//     { time: ISO-8601 end of the drill, verdict: 'passed' | 'failed' | 'error', reasons: string[],
//       rtoSeconds: number | null, rpoSeconds: number | null, backupId: string | null,
//       recoveryCluster: string, runUrl: string | null }
//   verdict 'error': the drill could not judge (reasons[0] is "<kind>: <message>"); not evidence
//   about the backup either way. Readers older than 'error' drop such entries (parseHistory).

export const HISTORY_LABEL = 'cnpg-actions.io/drill-history-of';
export const HISTORY_KEY = 'drills';
/** The source cluster's namespace, which differs from the ConfigMap's at a sandbox or DR site. */
export const HISTORY_NAMESPACE_LABEL = 'cnpg-actions.io/drill-history-namespace';

export interface DrillRecord {
  time: string;
  verdict: 'passed' | 'failed' | 'error';
  reasons: string[];
  rtoSeconds: number | null;
  rpoSeconds: number | null;
  backupId: string | null;
  recoveryCluster: string;
  runUrl: string | null;
}

/** The record's name: `sourceNamespace` only when it is kept away from the source (sandbox, DR site). */
export const historyConfigMapName = (cluster: string, sourceNamespace?: string) =>
  `cnpg-restore-drill-${sourceNamespace ? `${sourceNamespace}-` : ''}${cluster}`.slice(0, 253);

/** Parses `data.drills`; tolerant of a hand-edited map (bad entries dropped). */
export function parseHistory(text: string | undefined): DrillRecord[] {
  if (!text) return [];
  try {
    const v = JSON.parse(text);
    return Array.isArray(v)
      ? v.filter(
          (r) =>
            r &&
            typeof r === 'object' &&
            typeof r.time === 'string' &&
            ['passed', 'failed', 'error'].includes(r.verdict),
        )
      : [];
  } catch {
    return [];
  }
}
