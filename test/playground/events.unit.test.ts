// Events are named as client-go's recorder names them, `<object>.<hex Unix nanoseconds>`
// (tools/record/event.go makeEvent), so a list in name order, as the API serves it, is in time order: a
// reader of a pod's events sees Pulling before Pulled (random suffixes listed them in any order).
import { describe, expect, it } from 'vitest';
import { MemStore } from './apiserver/store.js';

describe('recorded events', () => {
  it('are named <object>.<hex nanoseconds>, listed in the order they were recorded', () => {
    const store = new MemStore();
    store.create('v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u1' } };
    const reasons = Array.from({ length: 30 }, (_, i) => `Step${i}`);
    for (const r of reasons) store.recordEvent(pod, 'Normal', r, r); // many within one millisecond
    const listed = store.list('v1/events', 'default').items;
    expect(listed.map((e) => e.reason)).toEqual(reasons);
    for (const e of listed) expect(e.metadata.name).toMatch(/^p\.[0-9a-f]{16}$/);
  });
});
