// Validates a drill's JSON report against the versioned schema in the repository
// (actions/cnpg-restore-drill/report.v1.schema.json) with Ajv (draft 2020-12, formats checked).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { repoRoot } from './run-action.js';

export const REPORT_SCHEMA_PATH = join(repoRoot, 'actions/cnpg-restore-drill/report.v1.schema.json');

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(REPORT_SCHEMA_PATH, 'utf8')));

/** The schema's complaints about `report` (empty when it conforms). */
export function reportProblems(report: unknown): string[] {
  if (validate(report)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
}
