import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { configSchema } from '../../src/config/schema.ts';

/**
 * README's "Configuration" tables are the administrator's reference: a key the schema takes that they
 * do not name, or a default they state that the code does not apply, leaves a setting the admin
 * cannot find or one that does not do what the page says. Nothing else ties the two together.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('\n## Configuration\n'), readme.indexOf('\n## Connecting LDAP / Active Directory\n'));

interface Row {
  keys: string[];
  defaultCell: string;
  meaning: string;
  /** The LDAP table names its keys without `directory.`. */
  ldap: boolean;
}

function tableRows(): Row[] {
  const rows: Row[] = [];
  let ldap = false;
  for (const line of section.split('\n')) {
    if (line.startsWith('| key under `directory`')) ldap = true;
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim());
    if (cells.length !== 3 || cells[0]!.startsWith('key') || cells[0]!.startsWith('---')) continue;
    rows.push({ keys: [...cells[0]!.matchAll(/`([^`]+)`/g)].map((match) => match[1]!), defaultCell: cells[1]!.replaceAll('\\|', '|'), meaning: cells[2]!, ldap });
  }
  return rows;
}

/** Every leaf key the schema takes, as `a.b.c`, LDAP's and the local directory's alike. */
function schemaKeys(schema: z.ZodType, path = '', keys = new Set<string>()): Set<string> {
  const def = (schema as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; in?: z.ZodType; shape?: Record<string, z.ZodType>; options?: z.ZodType[] } } })._zod.def;
  if (def.innerType) return schemaKeys(def.innerType, path, keys);
  if (def.type === 'pipe') return schemaKeys(def.in!, path, keys);
  if (def.type === 'object') for (const [key, value] of Object.entries(def.shape!)) schemaKeys(value, path ? `${path}.${key}` : key, keys);
  else if (def.type === 'union') for (const option of def.options!) schemaKeys(option, path, keys);
  else keys.add(path);
  return keys;
}

const LDAP_REQUIRED = { kind: 'ldap', urls: ['ldap://ldap.example.org'], bind: { dn: 'cn=stepgate,dc=example,dc=org', password: 'secret' }, users: { baseDn: 'ou=people,dc=example,dc=org' } };
const localDefaults = configSchema.parse({});
const ldapDefaults = configSchema.parse({ directory: LDAP_REQUIRED });

function valueAt(config: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((value, part) => (value as Record<string, unknown> | undefined)?.[part], config);
}

const rows = tableRows();

/** The row that documents `key`, and the name it has there. */
function rowOf(key: string): { row: Row; name: string } | undefined {
  const ttl = /^oidc\.\w+TtlSeconds$/.test(key) ? rows.find((row) => row.keys.includes('oidc.*TtlSeconds')) : undefined;
  if (ttl) return { row: ttl, name: key };
  if (key.startsWith('directory.passwordRules.')) return pick(rows.find((row) => row.keys[0] === 'directory.passwordRules'), key);
  if (key === 'directory.kind') return pick(rows.find((row) => row.keys[0] === 'directory'), key);
  if (key.startsWith('directory.')) {
    const name = key.slice('directory.'.length);
    return pick(rows.find((row) => row.ldap && row.keys.includes(name)), name);
  }
  return pick(rows.find((row) => !row.ldap && row.keys.includes(key)), key);
}
const pick = (row: Row | undefined, name: string) => (row ? { row, name } : undefined);

test('README documents every configuration key the schema takes', () => {
  const missing = [...schemaKeys(configSchema)].filter((key) => rowOf(key) === undefined);
  assert.deepEqual(missing, []);
});

test('README names no configuration key the schema does not take', () => {
  const keys = schemaKeys(configSchema);
  const known = (name: string, ldap: boolean) => {
    const full = ldap ? `directory.${name}` : name;
    return keys.has(full) || [...keys].some((key) => key.startsWith(`${full}.`)) || (full === 'oidc.*TtlSeconds' && [...keys].some((key) => /^oidc\.\w+TtlSeconds$/.test(key)));
  };
  const unknown = rows.flatMap((row) => row.keys.filter((name) => !known(name, row.ldap)).map((name) => (row.ldap ? `directory.${name}` : name)));
  assert.deepEqual(unknown, []);
});

test("README's defaults are the ones the code applies", () => {
  const wrong: string[] = [];
  for (const key of schemaKeys(configSchema)) {
    const found = rowOf(key);
    if (!found) continue;
    const { row, name } = found;
    const value = valueAt(key.startsWith('directory.') && !key.startsWith('directory.passwordRules.') ? ldapDefaults : localDefaults, key);
    if (key === 'directory.kind') {
      if (!row.defaultCell.includes(`"kind": "${valueAt(localDefaults, key)}"`)) wrong.push(`${key}: ${row.defaultCell}`);
    } else if (key in LDAP_PATHS_REQUIRED) {
      if (row.defaultCell !== 'required') wrong.push(`${key}: "${row.defaultCell}" (required)`);
    } else if (value === undefined) {
      // Optional without a default: the cell says what leaving it out means, in words.
    } else if (key.startsWith('directory.passwordRules.')) {
      const field = name.slice('directory.passwordRules.'.length);
      if (!new RegExp(`\`${field}\` \\(\`?${String(value)}\\b`).test(row.meaning)) wrong.push(`${key}: ${String(value)} not stated`);
    } else if (row.keys.includes('oidc.*TtlSeconds')) {
      const names = [...row.meaning.matchAll(/`(\w+TtlSeconds)`/g)].map((match) => match[1]);
      const stated = row.defaultCell.split(' / ')[names.indexOf(key.slice('oidc.'.length))];
      const seconds = stated?.endsWith(' days') ? Number.parseInt(stated) * 86_400 : Number(stated);
      if (seconds !== value) wrong.push(`${key}: "${stated}" (${String(value)})`);
    } else {
      const shown = typeof value === 'object' ? JSON.stringify(value) : String(value);
      if (!row.defaultCell.includes(`\`${shown}\``)) wrong.push(`${key}: "${row.defaultCell}" (${shown})`);
    }
  }
  assert.deepEqual(wrong, []);
});

test("README's default groups.filter of memberOf mode is the one the code applies", () => {
  const filter = valueAt(configSchema.parse({ directory: { ...LDAP_REQUIRED, groups: { mode: 'memberOf' } } }), 'directory.groups.filter');
  assert.match(rowOf('directory.groups.filter')!.row.defaultCell, new RegExp(`\`${String(filter).replace(/[()|]/g, '\\$&')}\` in \`memberOf\` mode`));
});

const LDAP_PATHS_REQUIRED: Record<string, true> = { 'directory.urls': true, 'directory.bind.dn': true, 'directory.bind.password': true, 'directory.users.baseDn': true };
