import type { Config } from './schema.ts';
import type { ExposureWarnings } from './config-file-exposure.ts';

/**
 * Warns at start when the public URL is https and no proxy is trusted. Stepgate serves plain http
 * only, so an https public URL means a TLS proxy in front, and without `server.trustedProxies` every
 * request has the proxy's address: all users share one client IP, so 50 wrong passwords from anyone
 * lock everyone out (`regulation.maxFailuresPerIp`), trusted networks judge the proxy, and the audit
 * log records it for everyone. Not refused: a proxy that cannot add X-Forwarded-For (a plain TLS
 * tunnel) is a working, if poorer, setup.
 */
export function warnIfProxyUntrusted(config: Config, warnings: ExposureWarnings): void {
  if (!config.server.publicUrl.startsWith('https:') || config.server.trustedProxies.length > 0) return;
  warnings.warn(
    { event: 'config.proxy-untrusted', publicUrl: config.server.publicUrl },
    `server.publicUrl is https but server.trustedProxies is empty: Stepgate serves plain http, so a proxy in front of it ends TLS, and every client then has the proxy's address (per-address limits: ${config.regulation.maxFailuresPerIp} wrong passwords from anyone lock every user out; trusted networks; the audit log). List the proxy's address in server.trustedProxies (e.g. ["127.0.0.1/32"]) and have it send X-Forwarded-For (README "Behind a reverse proxy")`,
  );
}
