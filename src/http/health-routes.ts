import { Router } from 'express';
import type { Services } from '../services.ts';
import { OVER_LIMIT, withinLimit } from '../core/time-limit.ts';
import { WarningBudget } from './warning-budget.ts';
import { checkFreeSpace, MIN_FREE_BYTES } from './free-space.ts';

/** A check that has not answered in this long counts as failed: a stalled store or directory must not look ready. */
const CHECK_LIMIT_MS = 5_000;

/**
 * Failed readiness checks written per check and minute; the rest are counted in the budget's summary
 * line. Load balancers probe every few seconds from each node, and the outage itself is reported
 * already (`directory.health`, every refused sign-in): a line per probe buried those.
 */
const FAILED_CHECK_WARNINGS_PER_MINUTE = 1;

/** /healthz: the process answers. /readyz: the store and the directory can be used, each within CHECK_LIMIT_MS. */
export function healthRoutes(services: Services, options: { checkLimitMs?: number; minFreeBytes?: number } = {}): Router {
  const limitMs = options.checkLimitMs ?? CHECK_LIMIT_MS;
  const minFreeBytes = options.minFreeBytes ?? MIN_FREE_BYTES;
  const storeCheck = async (): Promise<void> => {
    await services.store.startupCheck();
    await checkFreeSpace(services.config.dataDir, minFreeBytes);
  };
  const warnings = new WarningBudget({ perWindow: FAILED_CHECK_WARNINGS_PER_MINUTE });
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (req, res) => {
    const checks: Record<string, string> = {};
    for (const [name, check] of [['store', storeCheck], ['directory', () => services.directory.startupCheck(req.log)]] as const) {
      try {
        if ((await withinLimit(check(), limitMs)) === OVER_LIMIT) throw new Error(`no answer within ${limitMs} ms`);
        checks[name] = 'ok';
      } catch (error) {
        // The cause without a stack: a check's failure is the expected answer while a back end is down.
        if (warnings.admit(`readiness.check-failed ${name}`, req.log)) req.log.warn({ event: 'readiness.check-failed', check: name, error: error instanceof Error ? error.message : String(error) }, `readiness check failed: ${name}`);
        checks[name] = 'unavailable';
      }
    }
    const ready = Object.values(checks).every((value) => value === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not-ready', checks });
  });
  return router;
}
