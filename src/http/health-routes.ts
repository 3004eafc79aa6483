import { Router } from 'express';
import type { Services } from '../services.ts';
import { OVER_LIMIT, withinLimit } from '../core/time-limit.ts';

/** A check that has not answered in this long counts as failed: a stalled store or directory must not look ready. */
const CHECK_LIMIT_MS = 5_000;

/** /healthz: the process answers. /readyz: the store and the directory can be used, each within CHECK_LIMIT_MS. */
export function healthRoutes(services: Services, options: { checkLimitMs?: number } = {}): Router {
  const limitMs = options.checkLimitMs ?? CHECK_LIMIT_MS;
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (req, res) => {
    const checks: Record<string, string> = {};
    for (const [name, check] of [['store', () => services.store.startupCheck()], ['directory', () => services.directory.startupCheck()]] as const) {
      try {
        if ((await withinLimit(check(), limitMs)) === OVER_LIMIT) throw new Error(`no answer within ${limitMs} ms`);
        checks[name] = 'ok';
      } catch (error) {
        req.log.warn({ check: name, err: error }, 'readiness check failed');
        checks[name] = 'unavailable';
      }
    }
    const ready = Object.values(checks).every((value) => value === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not-ready', checks });
  });
  return router;
}
