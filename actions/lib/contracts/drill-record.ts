// The drill record: what cnpg-restore-drill writes (actions/lib/drill/record.ts) and
// soak-gate-check reads (actions/lib/soak/drill-record.ts). Shared by two actions, so it lives
// here; a change is a change of both. Format, stable for readers:
//
//   ConfigMap  <namespace>/cnpg-restore-drill-<source cluster>   (name truncated to 253)
//   labels     app.kubernetes.io/managed-by: cnpg-restore-drill
//              cnpg-actions.io/drill-history-of: <source cluster>
//   data.drills  JSON array, newest LAST, at most `history-size` entries, of
//     { time: ISO-8601 end of the drill, verdict: 'passed' | 'failed' | 'error', reasons: string[],
//       rtoSeconds: number | null, rpoSeconds: number | null, backupId: string | null,
//       recoveryCluster: string, runUrl: string | null }
//   verdict 'error': the drill could not judge (reasons[0] is "<kind>: <message>"); not evidence
//   about the backup either way. Readers older than 'error' drop such entries (parseHistory).

export const HISTORY_LABEL = 'cnpg-actions.io/drill-history-of';
export const HISTORY_KEY = 'drills';

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

export const historyConfigMapName = (cluster: string) => `cnpg-restore-drill-${cluster}`.slice(0, 253);

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
