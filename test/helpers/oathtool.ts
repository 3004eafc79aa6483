import { execFileSync } from 'node:child_process';

export interface OathOptions {
  digits?: number;
  algorithm?: 'sha1' | 'sha256' | 'sha512';
  periodSeconds?: number;
}

/**
 * A TOTP code computed by oathtool (the Debian oath-toolkit package), never by the code under test,
 * for a Base32 secret at `atMs` (epoch milliseconds).
 */
export function oathtoolTotp(secret: string, atMs: number, options: OathOptions = {}): string {
  const args = [options.algorithm && options.algorithm !== 'sha1' ? `--totp=${options.algorithm}` : '--totp', '-b', secret.replace(/\s+/g, ''), '-N', `@${Math.floor(atMs / 1000)}`];
  if (options.digits) args.push('-d', String(options.digits));
  if (options.periodSeconds) args.push('-s', `${options.periodSeconds}s`);
  return execFileSync('oathtool', args, { encoding: 'utf8' }).trim();
}
