import { describe, expect, it } from 'vitest';
import { checkCnpgSchedule } from '../../actions/lib/cnpg/schedule.js';

describe('checkCnpgSchedule', () => {
  it('accepts six-field schedules and computes the next runs in UTC', () => {
    const r = checkCnpgSchedule('0 0 3 * * *', new Date('2026-11-21T10:00:00Z'));
    expect(r.ok).toBe(true);
    expect(r.next?.[0].toISOString()).toBe('2026-11-22T03:00:00.000Z');
    expect(r.next?.[1].toISOString()).toBe('2026-11-23T03:00:00.000Z');
  });
  it('rejects five-field schedules, explaining they would run hourly', () => {
    const r = checkCnpgSchedule('0 3 * * *');
    expect(r.ok).toBe(false);
    expect(r.problem).toMatch(/five fields.*every hour.*'0 0 3 \* \* \*'/);
  });
  it('accepts descriptors and rejects garbage', () => {
    expect(checkCnpgSchedule('@daily').ok).toBe(true);
    expect(checkCnpgSchedule('0 0 25 * * *').ok).toBe(false);
    expect(checkCnpgSchedule('every day').problem).toMatch(/2 fields/);
  });
});
