import { readFile } from 'node:fs/promises';
import { renderLdifTemplate } from '../../scripts/slapd.ts';
import { pino, type Logger } from 'pino';
import { LdapDirectory } from '../../src/directory/ldap-directory.ts';
import type { LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';

/** A debug logger whose lines the test can read, parsed. */
export function capture(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, logger: pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) }) };
}

/** Runs `fn` with an LdapDirectory of `config`, closed afterwards whatever happens. */
export async function withDirectory<T>(config: LdapDirectoryConfig, fn: (d: LdapDirectory) => Promise<T>, logger?: Logger): Promise<T> {
  const directory = new LdapDirectory(config, { logger });
  try {
    return await fn(directory);
  } finally {
    await directory.close();
  }
}

/** The fixture directory of test/fixtures/ldap (ppolicy, users, nested groups), rendered for startSlapd's `ldif`. */
export async function fixtureLdif(): Promise<string[]> {
  const dir = new URL('../fixtures/ldap/', import.meta.url);
  return Promise.all(['policies.ldif', 'users.ldif', 'groups.ldif'].map(async (f) => renderLdifTemplate(await readFile(new URL(f, dir), 'utf8'))));
}
