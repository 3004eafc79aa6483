import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureOutput, waitForExit } from '../helpers/child-exit.ts';

const CLI = new URL('../../src/cli/index.ts', import.meta.url).pathname;
const CHECKOUT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const SERVICE_UID = 65534;
const notRoot = process.getuid?.() !== 0 && 'only root can give a directory to another user';

/** Only what the pasted line needs: the CLI must not pass on anything this test's environment happens to hold. */
const baseEnv = (extra: Record<string, string>) => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...extra });

async function run(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn(file, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = captureOutput(child);
  const code = await waitForExit(child, { what: `${file} ${args.join(' ')}`, output });
  return { code, output: output() };
}

const cli = (cwd: string, env: NodeJS.ProcessEnv, words: string[]) => run(process.execPath, ['--disable-warning=ExperimentalWarning', CLI, ...words], cwd, env);

/** The command line the refusal gives to paste: its last line. */
const pasteLine = (output: string) => output.split('\n').map((line) => line.trim()).find((line) => /^(sudo|runuser|setpriv) /.test(line))!;

/** A directory the service user may enter, holding what the pasted command reads. */
async function workDirectory(): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'stepgate-as-root-'));
  await chmod(work, 0o755);
  return work;
}

test('the CLI run as root on another user\'s data directory prints a line that runs the command as that user when pasted as it is: the directory, the words typed, never the key', { skip: notRoot }, async () => {
  const work = await workDirectory();
  try {
    const dataDir = join(work, 'data');
    await mkdir(dataDir);
    await chown(dataDir, SERVICE_UID, SERVICE_UID);
    const policyFile = "staff's policy.json";
    await writeFile(join(work, policyFile), JSON.stringify({ name: 'staff-only', template: 'permit-specific-groups', parameters: { groups: ['staff'] } }));
    const key = randomBytes(32).toString('base64');
    // Relative, as typed in the directory that holds it: npm runs the pasted command in the checkout.
    const env = baseEnv({ STEPGATE_DATA_DIR: 'data', STEPGATE_SECRET_KEY: key });

    const refused = await cli(work, env, ['policy', 'set', '--file', policyFile]);
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, new RegExp(`^Error: ${dataDir} belongs to user (\\S+ \\(uid ${SERVICE_UID}\\)|id ${SERVICE_UID}), and this command runs as root`, 'm'));
    assert.ok(!refused.output.includes(key), 'the key is not printed');
    const line = pasteLine(refused.output);
    assert.match(line, /^(sudo --preserve-env=STEPGATE_SECRET_KEY -u \S+|runuser -u \S+ --) env /);
    assert.match(refused.output, /\n  \(with STEPGATE_SECRET_KEY exported in this shell: the line passes it on, and never shows it\)$/m, 'a key typed before the command is gone when the line is pasted');
    assert.ok(line.includes(` STEPGATE_DATA_DIR=${dataDir} `), line);
    assert.ok(line.endsWith(` npm --prefix ${CHECKOUT} run -s cli -- policy set --file 'staff'\\''s policy.json'`), line);
    assert.deepEqual(await readdir(dataDir), [], 'nothing made as root');

    const pasted = await run('sh', ['-c', line], work, env);
    assert.equal(pasted.code, 0, `${line}\n${pasted.output}`);
    assert.match(pasted.output, /^Saved policy staff-only\.$/m);
    assert.equal((await stat(join(dataDir, 'db.json'))).uid, SERVICE_UID, 'the service user\'s file');
    const [event] = (await readFile(join(dataDir, 'audit.log'), 'utf8')).trim().split('\n').map((text) => JSON.parse(text) as Record<string, unknown>);
    assert.equal(event!['type'], 'policy.set');
    // sudo says who ran it; runuser (used where sudo is not installed) says nothing, and the event has no such field.
    if (line.startsWith('sudo ')) assert.deepEqual([event!['sudoUser'], event!['sudoUid']], ['root', 0]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test('the CLI run as root leaves a missing data directory unmade where another user\'s directory would hold it, and names that user; pasted, the line makes it as theirs', { skip: notRoot }, async () => {
  const work = await workDirectory();
  try {
    const parent = join(work, 'stepgate');
    await mkdir(parent);
    await chown(parent, SERVICE_UID, SERVICE_UID);
    const dataDir = join(parent, 'data');
    const env = baseEnv({ STEPGATE_DATA_DIR: dataDir });

    const refused = await cli(work, env, ['user', 'list']);
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, new RegExp(`^Error: ${dataDir} does not exist yet, and ${parent}, where it would be made, belongs to user (\\S+ \\(uid ${SERVICE_UID}\\)|id ${SERVICE_UID}), and this command runs as root`, 'm'));
    assert.deepEqual(await readdir(parent), [], 'no data directory made as root');

    const line = pasteLine(refused.output);
    assert.ok(line.endsWith(` STEPGATE_DATA_DIR=${dataDir} npm --prefix ${CHECKOUT} run -s cli -- user list`), line);
    const pasted = await run('sh', ['-c', line], work, env);
    assert.equal(pasted.code, 0, `${line}\n${pasted.output}`);
    for (const name of ['', 'db.json', 'secret.key']) assert.equal((await stat(join(dataDir, name))).uid, SERVICE_UID, `${name || 'the directory'} is the service user's`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test('the CLI run as root still makes a missing data directory where root\'s own directory holds it', { skip: notRoot }, async () => {
  const work = await workDirectory();
  try {
    const dataDir = join(work, 'data');
    const made = await cli(work, baseEnv({ STEPGATE_DATA_DIR: dataDir }), ['user', 'list']);
    assert.equal(made.code, 0, made.output);
    assert.match(made.output, /^Note: .* had no Stepgate data; it is a new, empty data directory now/m);
    assert.equal((await stat(join(dataDir, 'db.json'))).uid, 0);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

/** A uid a volume or a container gave, with no line in /etc/passwd: sudo -u '#uid' refuses it ("unknown user"). */
const NAMELESS_UID = 54321;
const namelessTaken = readFileSync('/etc/passwd', 'utf8').split('\n').some((line) => line.split(':')[2] === String(NAMELESS_UID)) && `uid ${NAMELESS_UID} has an account here`;

test('the line printed for a data directory whose owner has no account name runs the command as that uid and group when pasted, each word as typed', { skip: notRoot || namelessTaken }, async () => {
  const uid = NAMELESS_UID;
  const work = await workDirectory();
  try {
    const dataDir = join(work, 'data');
    await mkdir(dataDir);
    await chown(dataDir, uid, uid);
    await writeFile(join(work, 'password.txt'), 'a-long-Passw0rd!x\n', { mode: 0o644 });
    const env = baseEnv({ STEPGATE_DATA_DIR: dataDir });

    const refused = await cli(work, env, ['user', 'add', 'bob', '--name', '=Bob', '--password-file', 'password.txt']);
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, new RegExp(`^Error: ${dataDir} belongs to user id ${uid}, and this command runs as root`, 'm'));
    const line = pasteLine(refused.output);
    assert.match(line, new RegExp(`^setpriv --reuid=${uid} --regid=${uid} --clear-groups -- env STEPGATE_DATA_DIR=${dataDir} `));
    // Unquoted, zsh would put the path of a program named Bob there, or stop at none.
    assert.ok(line.endsWith(` cli -- user add bob --name '=Bob' --password-file password.txt`), line);

    const pasted = await run('sh', ['-c', line], work, env);
    assert.equal(pasted.code, 0, `${line}\n${pasted.output}`);
    assert.match(pasted.output, /^Added bob /m);
    const made = await stat(join(dataDir, 'db.json'));
    assert.deepEqual([made.uid, made.gid], [uid, uid]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
