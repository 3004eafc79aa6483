import { isIP } from 'node:net';
import type { Config } from './schema.ts';
import type { ExposureWarnings } from './config-file-exposure.ts';

/** Host names that never leave the machine: a plain-http public URL on them is a trial, not a deployment. */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/**
 * Warns at start when users reach Stepgate over plain http at a name other than this machine's:
 * passwords, codes and the session cookie then cross the network readable, and the cookies cannot
 * be Secure (they follow the public URL's scheme). Not refused: a closed lab network may do so on
 * purpose, and `http://localhost` is the default for trying Stepgate out.
 */
export function warnIfPlainHttp(config: Config, warnings: ExposureWarnings): void {
  const url = new URL(config.server.publicUrl);
  if (url.protocol !== 'http:' || isLoopbackHost(url.hostname)) return;
  warnings.warn(
    { event: 'config.public-url-plain-http', publicUrl: config.server.publicUrl },
    `server.publicUrl is plain http on ${url.hostname}: passwords, codes and session cookies cross the network unencrypted, and the cookies are not Secure. Put a TLS proxy in front and set an https:// public URL (README "Behind a reverse proxy")`,
  );
}
