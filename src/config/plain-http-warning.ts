import { BlockList, isIP } from 'node:net';
import type { Config } from './schema.ts';
import type { ExposureWarnings } from './config-file-exposure.ts';

/** Loopback addresses; an IPv4-mapped IPv6 address (`[::ffff:127.0.0.1]`) is checked as its IPv4 one. */
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Host names that never leave the machine: a plain-http public URL on them is a trial, not a deployment. */
function isLoopbackHost(hostname: string): boolean {
  const address = hostname.replace(/^\[|\]$/g, '');
  const family = isIP(address);
  if (family !== 0) return LOOPBACK.check(address, family === 6 ? 'ipv6' : 'ipv4');
  // `localhost.` is the same name written fully qualified.
  const host = hostname.replace(/\.$/, '');
  return host === 'localhost' || host.endsWith('.localhost');
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
