import { Router } from 'express';
import type { Services } from '../services.ts';

/** /healthz: the process answers. /readyz: the store and the directory can be used. */
export function healthRoutes(services: Services): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (req, res) => {
    const checks: Record<string, string> = {};
    for (const [name, check] of [['store', () => services.store.startupCheck()], ['directory', () => services.directory.startupCheck()]] as const) {
      try {
        await check();
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
