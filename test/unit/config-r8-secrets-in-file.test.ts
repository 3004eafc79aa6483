import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig, ConfigError } from '../../src/config/load.ts';
import { warnIfConfigFileExposed } from '../../src/config/config-file-exposure.ts';
import { ROOT, runNodeScript, startUntilBanner } from '../helpers/node-process.ts';
import { withoutSecretKey } from '../helpers/env.ts';
import { freePort } from '../../scripts/free-port.ts';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-r8-config-file-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const BIND_PASSWORD = 'Svc-LEAK-Zq7Wp';
/** Root, owning the file, cannot tell whether the server reads it as root or through its group: the advice names both. */
const asRoot = (file: string) => (process.getuid?.() === 0 ? ` if Stepgate runs as root; if it runs as another user, first chown that user ${file} \\(chmod 600 alone would leave only root able to read it\\)` : '');
const SECRET_KEY = randomBytes(32).toString('base64');
/** A key as the tester wrote it without quotes; random base64 could start with a digit, read as a number up to the next letter. */
const UNQUOTED_KEY = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=';

function ldap(password: string): string {
  return `{"directory":{"kind":"ldap","urls":["ldap://127.0.0.1:1"],"bind":{"dn":"cn=a","password":${password}},"users":{"baseDn":"dc=x"}}}\n`;
}

/** The one issue of the ConfigError `run` throws. */
function issueOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `a configuration error, not ${String(error)}`);
    assert.equal(error.issues.length, 1, error.message);
    return error.issues[0]!;
  }
  assert.fail('expected a configuration error');
}

/** Whether `text` holds any 5 characters in a row of `secret`. */
function holdsPartOf(text: string, secret: string): boolean {
  for (let start = 0; start + 5 <= secret.length; start += 1) if (text.includes(secret.slice(start, start + 5))) return true;
  return false;
}

test('a config file that is not JSON is reported by line and column, without a character of an unquoted secret', async () => {
  const file = join(dir, 'unquoted-password.json');
  await writeFile(file, ldap(BIND_PASSWORD));
  const issue = issueOf(() => loadConfig({ STEPGATE_CONFIG: file }));
  assert.match(issue, /unquoted-password\.json: cannot be read as JSON: line 1, column 90: expected a value: .*a password or key goes in double quotes too/);
  assert.equal(holdsPartOf(issue, BIND_PASSWORD), false, issue);

  const keyFile = join(dir, 'unquoted-key.json');
  await writeFile(keyFile, `{\n  "dataDir": "./data",\n  "secretKey": ${UNQUOTED_KEY}\n}\n`);
  const keyIssue = issueOf(() => loadConfig({ STEPGATE_CONFIG: keyFile }));
  assert.match(keyIssue, /unquoted-key\.json: cannot be read as JSON: line 3, column 16: expected a value/);
  assert.equal(holdsPartOf(keyIssue, UNQUOTED_KEY), false, keyIssue);

  // A password that starts like a number, true or null is cut there: the mistake is the character after.
  const digits = join(dir, 'digits.json');
  await writeFile(digits, ldap('12345-secret'));
  const digitsIssue = issueOf(() => loadConfig({ STEPGATE_CONFIG: digits }));
  assert.match(digitsIssue, /line 1, column 95: expected "," or "}" \(a comma missing, or a value that is not in double quotes\)$/);
  assert.equal(holdsPartOf(digitsIssue, '12345-secret'), false, digitsIssue);
});

test('other JSON mistakes are named by their kind and place', async () => {
  const cases: Array<[string, RegExp]> = [
    ['{ nope', /line 1, column 3: expected a name in double quotes$/],
    ['{"a": "b\tc"}', /line 1, column 9: a line break, tab or other control character inside text in double quotes/],
    ['{"a": "b\\qc"}', /line 1, column 9: a backslash inside text in double quotes that starts no valid escape/],
    ['{"a": "open}', /line 1, column 7: text in double quotes that is never closed/],
    ['{"a": 1}\n}', /line 2, column 1: more text after the end of the JSON/],
    ['{"a": [1, 2', /line 1, column 12: the file ends before the JSON does/],
    ['\uFEFF{}', /line 1, column 1: the file starts with a byte order mark \(BOM\)/],
  ];
  for (const [text, message] of cases) {
    const file = join(dir, 'mistake.json');
    await writeFile(file, text);
    assert.match(issueOf(() => loadConfig({ STEPGATE_CONFIG: file })), message, JSON.stringify(text));
  }
});

/** The warnings loading `file` gives, as the server or the CLI would get them. */
function warningsOf(file: string): Array<{ fields: Record<string, unknown>; message: string }> {
  const config = loadConfig({ STEPGATE_CONFIG: file });
  const warnings: Array<{ fields: Record<string, unknown>; message: string }> = [];
  const sink = { warn: (fields: Record<string, unknown>, message: string) => warnings.push({ fields, message }) };
  warnIfConfigFileExposed(config, sink);
  warnIfConfigFileExposed(config, sink);
  return warnings;
}

test('a config file holding a secret that group or others can read is warned about once, naming the file, its mode and the command', async () => {
  const file = join(dir, 'stepgate.config.json');
  await writeFile(file, JSON.stringify({ secretKey: SECRET_KEY, directory: JSON.parse(ldap(`"${BIND_PASSWORD}"`)).directory }));
  await chmod(file, 0o644);
  const [warning, ...more] = warningsOf(file);
  assert.deepEqual(more, [], 'once');
  assert.deepEqual(warning!.fields, { event: 'config.file-exposed', file, mode: '644', secrets: ['secretKey', 'directory.bind.password'] });
  assert.match(warning!.message, new RegExp(`^the config file ${file} holds secrets \\(secretKey, directory\\.bind\\.password\\) and every user of this machine can read it \\(mode 644\\); make it private: chmod 600 ${file}${asRoot(file)}\\.`));
  assert.equal(holdsPartOf(JSON.stringify(warning), BIND_PASSWORD) || JSON.stringify(warning).includes(SECRET_KEY.slice(0, 8)), false, 'no secret in the warning');

  await chmod(file, 0o640);
  assert.match(warningsOf(file)[0]!.message, /and the users of its group can read it \(mode 640\); make it private: chmod 600 /);
  await chmod(file, 0o600);
  assert.deepEqual(warningsOf(file), [], 'a private file');

  const backup = join(dir, 'backup-bind.json');
  await writeFile(backup, JSON.stringify({ directory: { ...JSON.parse(ldap('"x"')).directory, backupBind: { dn: 'cn=b', password: 'y' } } }));
  await chmod(backup, 0o604);
  assert.deepEqual(warningsOf(backup)[0]!.fields.secrets, ['directory.bind.password', 'directory.backupBind.password']);

  const noSecret = join(dir, 'no-secret.json');
  await writeFile(noSecret, JSON.stringify({ server: { port: 8443 }, secretKeyFile: '/etc/stepgate/secret.key' }));
  await chmod(noSecret, 0o644);
  assert.deepEqual(warningsOf(noSecret), [], 'nothing secret in it');
});

test('the server warns at start, once, in its log, when its config file holds a secret others can read', async () => {
  const file = join(dir, 'server.config.json');
  await writeFile(file, JSON.stringify({ secretKey: SECRET_KEY }));
  await chmod(file, 0o644);
  const output = await startUntilBanner({ ...withoutSecretKey(process.env), STEPGATE_CONFIG: file, STEPGATE_DATA_DIR: join(dir, 'server-data'), PORT: String(await freePort()) });
  const lines = output.split('\n').filter((line) => line.includes('"config.file-exposed"'));
  assert.equal(lines.length, 1, output);
  const logged = JSON.parse(lines[0]!);
  assert.deepEqual([logged.level, logged.file, logged.mode, logged.secrets], [40, file, '644', ['secretKey']]);
  assert.match(logged.msg, new RegExp(`make it private: chmod 600 ${file}`));
  assert.equal(output.includes(SECRET_KEY.slice(0, 8)), false, 'the key is not in the output');
});

test('every CLI command writes the same warning to stderr, once', async () => {
  const file = join(dir, 'cli.config.json');
  await writeFile(file, JSON.stringify({ secretKey: SECRET_KEY }));
  await chmod(file, 0o644);
  const run = await runNodeScript(join(ROOT, 'src/cli/index.ts'), ['user', 'list'], { ...withoutSecretKey(process.env), STEPGATE_CONFIG: file, STEPGATE_DATA_DIR: join(dir, 'cli-data') });
  assert.equal(run.code, 0, run.err);
  const warnings = run.err.split('\n').filter((line) => line.startsWith('Warning: the config file'));
  assert.equal(warnings.length, 1, run.err);
  assert.match(warnings[0]!, new RegExp(`holds secrets \\(secretKey\\) .*make it private: chmod 600 ${file}`));
  assert.equal(run.err.includes(SECRET_KEY.slice(0, 8)), false, 'the key is not in the output');
});
