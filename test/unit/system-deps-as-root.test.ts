import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { asRoot, installCommand } from '../../scripts/system-deps.ts';

/**
 * README "Quickstart": `npm test` run by a user other than root prints the exact command to install
 * what is missing. It always began with sudo, which minimal Debian hosts do not have ("sudo: not
 * found"); without it the command goes through su.
 */
test('the install command for a user is given to sudo where there is sudo, else to su, and reaches root\'s shell unchanged', () => {
  const command = installCommand(['slapd', 'oathtool']);
  for (const [hasSudo, prefix] of [[true, 'sudo sh -c '], [false, 'su -c ']] as const) {
    const line = asRoot(command, hasSudo);
    assert.ok(line.startsWith(prefix), line);
    // What the user's shell hands to sudo or su as the command: printed in place of running it.
    const handed = execFileSync('sh', ['-c', `printf %s ${line.slice(prefix.length)}`], { encoding: 'utf8' });
    assert.equal(handed, command);
  }
});
