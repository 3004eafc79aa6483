import { withoutSecretKey } from '../helpers/env.ts';
import { runNodeScript, type ProcessRun } from '../helpers/node-process.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS } from '../../src/cli/commands/all.ts';

const CLI = new URL('../../src/cli/index.ts', import.meta.url).pathname;
let dataDir: string;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'stepgate-cli-polish-'));
});
after(() => rm(dataDir, { recursive: true, force: true }));

/** The CLI as its own process, as `npm run cli -- …` runs it. */
function cli(...words: string[]): Promise<ProcessRun> {
  return runNodeScript(CLI, words, { ...withoutSecretKey(), STEPGATE_DATA_DIR: dataDir });
}

test('no command at all is a usage error (exit 2) that lists the commands, as an unknown one is; --help is not', async () => {
  const none = await cli();
  assert.equal(none.code, 2);
  assert.match(none.out, /^Usage: npm run cli -- <command> \[options\]/);
  assert.equal((await cli('no-such-command')).code, 2);
  const help = await cli('--help');
  assert.equal(help.code, 0);
  assert.equal(help.out, none.out, 'the same list');
});

test('client add names the option that is missing', async () => {
  const noUri = await cli('client', 'add', '--name', 'X');
  assert.equal(noUri.code, 2);
  assert.match(noUri.err, /^client add needs --redirect-uri\n/);
  const noName = await cli('client', 'add', '--redirect-uri', 'https://x.example/cb');
  assert.equal(noName.code, 2);
  assert.match(noName.err, /^client add needs --name\n/);
  assert.match((await cli('client', 'add')).err, /^client add needs --name and --redirect-uri\n/);
});

test('every command summary starts in lower case (an acronym aside), the client commands too', async () => {
  const listing = (await cli('--help')).out;
  for (const command of COMMANDS) {
    assert.match(command.summary, /^([a-z]|[A-Z]{2,}\b)/, `${command.name}: lower case, unless it starts with an acronym (TOTP)`);
    assert.ok(listing.includes(`${command.name.padEnd(22)} ${command.summary}`), `listed: ${command.name}`);
  }
});
