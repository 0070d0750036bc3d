// Container logs per pod, kept in memory; pods/log reads them and follows new text.
import type { PodLogs } from './types.js';

type Sub = { container?: string; onText: (text: string) => void };

export class MemPodLogs implements PodLogs {
  private readonly text = new Map<string, Map<string, string>>();
  private readonly subs = new Map<string, Set<Sub>>();

  append(namespace: string, pod: string, container: string, text: string): void {
    const k = `${namespace}/${pod}`;
    if (!this.text.has(k)) this.text.set(k, new Map());
    const byContainer = this.text.get(k)!;
    byContainer.set(container, (byContainer.get(container) ?? '') + text);
    for (const s of this.subs.get(k) ?? []) {
      if (s.container === undefined || s.container === container) s.onText(text);
    }
  }

  /** Without a container: the first container that logged (a pod's default container). */
  read(namespace: string, pod: string, container?: string): string {
    const byContainer = this.text.get(`${namespace}/${pod}`);
    if (!byContainer) return '';
    if (container !== undefined) return byContainer.get(container) ?? '';
    return byContainer.values().next().value ?? '';
  }

  containers(namespace: string, pod: string): string[] {
    return [...(this.text.get(`${namespace}/${pod}`)?.keys() ?? [])];
  }

  subscribe(namespace: string, pod: string, container: string | undefined, onText: (text: string) => void): () => void {
    const k = `${namespace}/${pod}`;
    if (!this.subs.has(k)) this.subs.set(k, new Set());
    const sub: Sub = { container, onText };
    this.subs.get(k)!.add(sub);
    return () => {
      this.subs.get(k)?.delete(sub);
    };
  }

  clear(namespace: string, pod: string): void {
    this.text.delete(`${namespace}/${pod}`);
  }
}
