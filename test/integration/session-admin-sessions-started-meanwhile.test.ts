import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { cliProcess } from '../helpers/cli.ts';
import { passwordSignInFrom } from '../helpers/login-request.ts';
import { until } from '../helpers/until.ts';

const PASSWORD = 'Correct-horse-42';
const SECRET_KEY = randomBytes(32).toString('base64');

/**
 * A command reads the store when it starts, then looks the user up and changes the account before it
 * ends their sessions (a second or more on a busy host). A sign-in the server finished in between
 * started a session the command did not see: it outlived the command, which said it ended them all.
 */
describe('administrator commands end the sessions the server started while they ran', () => {
  let app: Booted;

  before(async () => {
    app = await boot({}, { secretKey: SECRET_KEY });
  });

  after(() => app.close());

  const liveSessionsOf = async (userId: string) => (await app.services.sessions.live()).filter((session) => session.user.id === userId);

  for (const [name, words] of [
    ['session end --user', (username: string) => ['session', 'end', '--user', username]],
    ['user disable', (username: string) => ['user', 'disable', username]],
  ] as const) {
    test(`${name}: a session the server started after the command read the store is ended too`, async () => {
      const username = `meanwhile-${name.split(' ')[1]}`;
      const userId = await addLocalUser(app.services, username, PASSWORD);
      const run = await cliProcess(app, SECRET_KEY, words(username), {}, {
        opened: async () => {
          await passwordSignInFrom(app, new TestBrowser(), username, PASSWORD, '198.51.100.7');
          assert.equal((await liveSessionsOf(userId)).length, 1, 'the sign-in started a session');
        },
      });
      assert.equal(run.code, 0, run.err);
      assert.match(run.out, /Ended 1 (SSO )?session/);
      await until(() => liveSessionsOf(userId), (sessions) => sessions.length === 0, 'the server to end the session');
    });
  }
});
