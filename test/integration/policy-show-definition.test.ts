import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withoutSecretKey } from '../helpers/env.ts';
import { waitForExit } from '../helpers/child-exit.ts';

const CLI = new URL('../../src/cli/index.ts', import.meta.url).pathname;

async function cli(dataDir: string, words: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', CLI, ...words], { env: { ...withoutSecretKey(), STEPGATE_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let [out, err] = ['', ''];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const code = await waitForExit(child, { what: `cli ${words.join(' ')}`, output: () => out + err });
  return { code, out, err };
}

test('policy show NAME --definition > file, edited, is a file policy set takes; show\'s full output is refused naming --definition, and a built-in policy has no definition and its show output is refused as such', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-policy-show-'));
  try {
    const file = join(dataDir, 'policy.json');
    const rules = { name: 'admins-mfa', rules: [{ name: 'admins', when: { groups: ['admins'] }, then: { effect: 'require-mfa' } }, { name: 'others', then: { effect: 'permit' } }] };
    await writeFile(file, JSON.stringify(rules));
    assert.equal((await cli(dataDir, ['policy', 'set', '--file', file])).code, 0);

    const shown = await cli(dataDir, ['policy', 'show', 'admins-mfa', '--definition']);
    assert.equal(shown.code, 0, shown.err);
    assert.deepEqual(JSON.parse(shown.out), rules);
    const edited = { ...rules, rules: [{ ...rules.rules[0]!, when: { groups: ['admins', 'operators'] } }, rules.rules[1]!] };
    await writeFile(file, JSON.stringify(edited));
    assert.equal((await cli(dataDir, ['policy', 'set', '--file', file])).code, 0);
    assert.deepEqual(JSON.parse((await cli(dataDir, ['policy', 'show', 'admins-mfa', '--definition'])).out), edited);

    const whole = await cli(dataDir, ['policy', 'show', 'admins-mfa']);
    assert.deepEqual(JSON.parse(whole.out).definition, edited, 'policy show alone prints what it printed before');
    await writeFile(file, whole.out);
    assert.deepEqual(await cli(dataDir, ['policy', 'set', '--file', file]), {
      code: 1,
      out: '',
      err: `${file} is policy show's output, whose rules are the engine's and not what policy set reads: give it the definition, which policy show NAME --definition prints.\n`,
    });

    const builtIn = await cli(dataDir, ['policy', 'show', 'permit-everyone', '--definition']);
    assert.equal(builtIn.code, 1);
    assert.match(builtIn.err, /^"permit-everyone" is built in: it has no definition to edit/);
    await writeFile(file, (await cli(dataDir, ['policy', 'show', 'permit-everyone'])).out);
    assert.deepEqual(await cli(dataDir, ['policy', 'set', '--file', file]), {
      code: 1,
      out: '',
      err: `${file} is policy show's output for a built-in policy, which cannot be changed: write a custom policy under a name of its own, from a template or with rules (policy set --help).\n`,
    });
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
