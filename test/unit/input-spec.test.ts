// One source for the drill's input defaults: action.yml. The generated module is fresh, the
// reader applies exactly action.yml's defaults, and a new input in action.yml reaches the module.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readDrillInputs } from '../../actions/lib/drill/inputs.js';
import { DRILL_INPUTS } from '../../actions/lib/drill/input-spec.js';
import { Inputs } from '../../actions/lib/inputs.js';
import { currentActionYml, renderInputSpec, SPEC_PATH } from '../../.ci/input-spec.js';
import { recordingCore } from '../helpers/recording-core.js';

const yml = parse(currentActionYml()) as { inputs: Record<string, { default?: string; required?: boolean }> };

describe('drill inputs from action.yml', () => {
  it('the generated module is fresh (npx tsx .ci/input-spec.ts regenerates it)', async () => {
    expect(readFileSync(SPEC_PATH, 'utf8')).toBe(await renderInputSpec(currentActionYml()));
    expect(Object.keys(DRILL_INPUTS)).toEqual(Object.keys(yml.inputs));
  });

  it('an empty input takes action.yml default, the same as passing that default explicitly', () => {
    const declared = Object.entries(yml.inputs).filter(([, i]) => i.default !== undefined && i.default !== '');
    expect(declared.length).toBeGreaterThanOrEqual(19);
    const base = { cluster: 'pg', namespace: 'db' };
    const implicit = readDrillInputs(recordingCore(base).core);
    const explicit = readDrillInputs(
      recordingCore({ ...base, ...Object.fromEntries(declared.map(([n, i]) => [n, String(i.default)])) }).core,
    );
    expect(implicit).toEqual(explicit);
  });

  it('changing a default in action.yml changes what the reader returns (no second copy)', () => {
    const core = recordingCore({}).core;
    const i = new Inputs(core, { ...DRILL_INPUTS, 'count-concurrency': { default: '7' }, timeout: { default: '2h' } });
    expect(i.number('count-concurrency', undefined, { min: 1, max: 32, integer: true })).toBe(7);
    expect(i.duration('timeout')).toBe(2 * 3_600_000);
    expect(() => new Inputs(core).duration('timeout')).toThrow(/Input 'timeout': is required/);
  });

  it('an input added to action.yml reaches the module with its default', async () => {
    const added = currentActionYml().replace(
      /^inputs:\n/m,
      "inputs:\n  example-input:\n    description: 'An input added later.'\n    required: false\n    default: 'on'\n",
    );
    expect(await renderInputSpec(added)).toContain(
      "'example-input': { description: 'An input added later.', default: 'on' }",
    );
  });
});
