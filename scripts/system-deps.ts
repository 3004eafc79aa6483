import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** System programs the tests drive for real, and the Debian packages that provide them. */
export const SYSTEM_DEPENDENCIES = [
  { program: '/usr/sbin/slapd', pkg: 'slapd' },
  { program: '/usr/bin/ldapsearch', pkg: 'ldap-utils' },
  { program: '/usr/bin/xmlsec1', pkg: 'xmlsec1' },
  { program: '/usr/bin/oathtool', pkg: 'oathtool' },
  { program: '/usr/bin/chromium', pkg: 'chromium' },
  { program: '/usr/bin/openssl', pkg: 'openssl' },
  { program: '/usr/bin/script', pkg: 'bsdutils' },
] as const;

export function missingPackages(): string[] {
  return SYSTEM_DEPENDENCIES.filter((dependency) => !existsSync(dependency.program)).map((dependency) => dependency.pkg);
}

export function installCommand(packages: string[]): string {
  const preseed = packages.includes('slapd') ? "echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections && " : '';
  return `${preseed}apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

/** `command` run as root from a user's shell: through sudo, or, on a host without it (Debian's minimal images), su. */
export function asRoot(command: string, hasSudo: boolean): string {
  return `${hasSudo ? 'sudo sh -c' : 'su -c'} "${command.replace(/"/g, '\\"')}"`;
}

/** Installs what is missing when running as root; otherwise says exactly what to run. Returns false when still missing. */
export function ensureSystemDependencies(): boolean {
  const missing = missingPackages();
  if (missing.length === 0) return true;
  const command = installCommand(missing);
  if (process.getuid?.() !== 0) {
    process.stderr.write(`Missing system packages for the tests: ${missing.join(', ')}\nRun as root:\n  ${asRoot(command, existsSync('/usr/bin/sudo'))}\n`);
    return false;
  }
  process.stdout.write(`Installing missing system packages: ${missing.join(', ')}\n`);
  const result = spawnSync('sh', ['-c', command], { stdio: 'inherit' });
  if (result.status !== 0 || missingPackages().length > 0) {
    process.stderr.write(`Installing ${missing.join(', ')} failed (exit ${result.status}). Command was:\n  ${command}\n`);
    return false;
  }
  return true;
}
