// /playground/* admin endpoints for a detached playground: faults, the request log and the
// operator emulator's settings, with regexes carried as strings in JSON.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OperatorSettings } from '../types.js';
import { faultRuleFromJson, type Faults, type RequestLog } from './faults.js';
import { readBody, sendJson, statusBody } from './http.js';

export interface AdminContext {
  faults: Faults;
  requestLog: RequestLog;
  operatorSettings: () => OperatorSettings | undefined;
}

export function settingsToJson(s: OperatorSettings): Record<string, unknown> {
  return {
    version: s.version,
    ...(s.stallRecovery ? { stallRecovery: s.stallRecovery.source } : {}),
    ...(s.failRecovery
      ? { failRecovery: { cluster: s.failRecovery.cluster.source, message: s.failRecovery.message } }
      : {}),
  };
}

/** Applies a JSON settings document in place (null clears a knob). */
export function applySettingsJson(s: OperatorSettings, j: Record<string, unknown>): void {
  if (typeof j.version === 'string') s.version = j.version;
  if (j.stallRecovery === null) delete s.stallRecovery;
  else if (typeof j.stallRecovery === 'string') s.stallRecovery = new RegExp(j.stallRecovery);
  if (j.failRecovery === null) delete s.failRecovery;
  else if (j.failRecovery && typeof j.failRecovery === 'object') {
    const f = j.failRecovery as { cluster?: string; message?: string };
    s.failRecovery = { cluster: new RegExp(f.cluster ?? '.*'), message: f.message ?? 'recovery failed' };
  }
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(req)).toString('utf8');
  return text.trim() ? (JSON.parse(text) as Record<string, unknown>) : {};
}

export async function handleAdmin(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  ctx: AdminContext,
): Promise<void> {
  const method = req.method ?? 'GET';
  const bad = (code: number, msg: string) =>
    sendJson(res, code, statusBody(code, code === 404 ? 'NotFound' : 'BadRequest', msg));
  try {
    if (path === '/playground/faults') {
      if (method === 'GET')
        return sendJson(
          res,
          200,
          ctx.faults.list().map((r) => ({ ...r, times: r.times === Infinity ? 'Infinity' : r.times })),
        );
      if (method === 'POST') {
        const body = await jsonBody(req);
        const rules = Array.isArray(body) ? body : [body];
        for (const r of rules) ctx.faults.add(faultRuleFromJson(r as Record<string, unknown>));
        return sendJson(res, 201, { added: rules.length });
      }
      if (method === 'DELETE') {
        ctx.faults.clear();
        return sendJson(res, 200, { cleared: true });
      }
    }
    if (path === '/playground/requests') {
      if (method === 'GET') return sendJson(res, 200, ctx.requestLog.entries());
      if (method === 'DELETE') {
        ctx.requestLog.clear();
        return sendJson(res, 200, { cleared: true });
      }
    }
    if (path === '/playground/operator') {
      const s = ctx.operatorSettings();
      if (!s) return bad(404, 'no operator is attached to this API server');
      if (method === 'GET') return sendJson(res, 200, settingsToJson(s));
      if (method === 'PUT') {
        applySettingsJson(s, await jsonBody(req));
        return sendJson(res, 200, settingsToJson(s));
      }
    }
    return bad(404, `unknown admin endpoint ${method} ${path}`);
  } catch (e) {
    return bad(400, (e as Error).message);
  }
}
