import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import type { Page } from '../helpers/browser.ts';
import { authRequest, callbackOf, createRp, createUser, isPasswordPage, redeem, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';

const ALICE = { username: 'alice', password: 'correct horse 7' };
const CAROL = { username: 'carol', password: 'battery staple 9' };
let app: Booted;
let rp: TestRp;
let carolIdToken: string;
let carolSub: string;

before(async () => {
  app = await boot();
  await createUser(app, ALICE);
  await createUser(app, CAROL);
  rp = await createRp(app);
  const { tokens, claims } = await signIn(rp, rpBrowser(), CAROL);
  carolIdToken = tokens.id_token!;
  carolSub = claims.sub;
});
after(() => app?.close());

async function signInEvents(): Promise<Array<{ outcome: string; reason?: unknown; username?: unknown }>> {
  const { events } = await app.services.store.audit.query({ types: ['oidc.sign-in'], rp: rp.client.id, limit: 500 });
  return events.map((event) => ({ outcome: event.outcome, reason: event.reason, username: event.username }));
}

test("an id_token_hint naming another account: whoever else signs in, the client gets login_required, not that account's code", async () => {
  for (const signedIn of [true, false]) {
    const browser = rpBrowser();
    if (signedIn) await signIn(rp, browser, ALICE);
    const audited = (await signInEvents()).length;
    const request = await authRequest(rp, { id_token_hint: carolIdToken });
    const page = await browser.get(request.url.toString());
    assert.ok(isPasswordPage(page), 'the hinted account is asked for');
    // Alice types her own password: before the fix, a code for alice came back to a client that named carol.
    const callback = callbackOf(rp, await browser.submit(page, { ...ALICE }));
    assert.equal(callback.searchParams.get('error'), 'login_required', `signed in before: ${signedIn}`);
    assert.equal(callback.searchParams.get('code'), null);
    assert.equal(callback.searchParams.get('state'), request.state);
    assert.deepEqual((await signInEvents()).slice(audited), [{ outcome: 'failure', reason: 'login_required', username: ALICE.username }]);
  }
  assert.ok(app.logs.some((line) => line.code === 'OIDC_LOGIN_NOT_HINTED_ACCOUNT'));
});

test('an id_token_hint naming the account that signs in: a code for it, also in a browser signed in as someone else', async () => {
  const browser = rpBrowser();
  await signIn(rp, browser, ALICE);
  const request = await authRequest(rp, { id_token_hint: carolIdToken });
  const page = await browser.get(request.url.toString());
  assert.ok(isPasswordPage(page));
  const tokens = await redeem(rp, request, callbackOf(rp, await browser.submit(page, { ...CAROL })));
  assert.equal(tokens.claims()!.sub, carolSub);
  // Carol's session now answers her hint without a page.
  const silent = await signIn(rp, browser, undefined, { id_token_hint: carolIdToken });
  assert.equal(silent.claims.sub, carolSub);
});

test('Back after a sign-in that ended with login_required for its hint says only that it finished, not that the sign-in to the client is complete', async () => {
  const browser = rpBrowser();
  const request = await authRequest(rp, { id_token_hint: carolIdToken });
  const page = await browser.get(request.url.toString());
  assert.equal(callbackOf(rp, await browser.submit(page, { ...ALICE })).searchParams.get('error'), 'login_required');
  const back = await browser.get(signInPageOf(page));
  assert.match(back.body, /<h1>Sign-in finished<\/h1>/);
  assert.doesNotMatch(back.body, /is complete|You are signed in/, 'the client got an error, not this sign-in');
});

/** The address of the sign-in's own page (the first one came in the answer to the authorization request). */
function signInPageOf(page: Page): string {
  const tx = /action="\/login\/([^/"]+)\/password"/.exec(page.body)?.[1];
  assert.ok(tx, 'a sign-in page');
  return new URL(`/login/${tx}`, page.url).toString();
}
