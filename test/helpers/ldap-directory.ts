import { readFile } from 'node:fs/promises';
import { renderLdifTemplate, type SlapdHandle } from '../../scripts/slapd.ts';
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

/** Where the tests' people live in every test slapd. */
export const PEOPLE = 'ou=people,dc=example,dc=org';

/** One inetOrgPerson under PEOPLE, as LDIF for startSlapd's `ldif`. */
export function personLdif(person: { uid: string; cn: string; sn: string; password: string; mail?: string; entryUUID?: string }): string {
  const optional = [person.mail && `mail: ${person.mail}`, person.entryUUID && `entryUUID: ${person.entryUUID}`].filter(Boolean).map((line) => `${line}\n`).join('');
  return `dn: uid=${person.uid},${PEOPLE}\nobjectClass: inetOrgPerson\nuid: ${person.uid}\ncn: ${person.cn}\nsn: ${person.sn}\n${optional}userPassword: ${person.password}\n`;
}

/** The `directory` config of a test slapd: its service account, 2 s timeouts, users under PEOPLE (`users` adds to that). */
export function slapdDirectoryInput(slapd: SlapdHandle, users: Record<string, unknown> = {}) {
  return { kind: 'ldap' as const, urls: [slapd.url], connectTimeoutMs: 2000, searchTimeoutMs: 2000, bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: PEOPLE, ...users } };
}
