import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Profile } from '@node-saml/node-saml';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { request as loginRequest } from '../helpers/login-request.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { CALLBACK_BASE, createRp, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import * as oidc from 'openid-client';
import { TestSp, isPasswordPage, redirectMessageXml, samlPostForm, sendAuthnRequest, sendToIdp, xmlsecVerify, type ReceivedLogoutRequest } from '../helpers/saml-sp.ts';

const PASSWORD = 'Correct-horse-42';
const STATUS = 'urn:oasis:names:tc:SAML:2.0:status:';
const PLAIN_SUCCESS = new RegExp(`<samlp:StatusCode Value="${STATUS}Success"></samlp:StatusCode></samlp:Status>`);
const PARTIAL_LOGOUT = new RegExp(`<samlp:StatusCode Value="${STATUS}Success"><samlp:StatusCode Value="${STATUS}PartialLogout"></samlp:StatusCode></samlp:StatusCode>`);

describe('SAML Single Logout propagation (front channel)', () => {
  let app: Booted;
  /** Redirect SLO; the SP that asks in most tests. */
  let spA: TestSp;
  /** Redirect SLO; its name needs escaping on pages. */
  let spB: TestSp;
  /** HTTP-POST only (sign-in and SLO). */
  let spC: TestSp;
  /** No SingleLogoutService at all. */
  let noSlo: TestSp;

  before(async () => {
    app = await boot();
    await addLocalUser(app.services, 'alice', PASSWORD);
    [spA, spB, spC, noSlo] = await Promise.all([
      TestSp.create(app, { name: 'prop-a', redirectSlo: true }),
      TestSp.create(app, { name: 'prop-b', redirectSlo: true, register: { name: 'B & <Co>' } }),
      TestSp.create(app, { name: 'prop-c', binding: 'post' }),
      TestSp.create(app, { name: 'prop-noslo', noSlo: true }),
    ]);
  });
  after(() => app.close());

  /** A browser that stops at every SP (https://…) instead of following Stepgate's redirects there. */
  function spBrowser(): TestBrowser {
    const browser = new TestBrowser();
    browser.stopAt.push('https://');
    return browser;
  }

  async function signedInAt(browser: TestBrowser, sp: TestSp): Promise<Profile> {
    let page: Page = await sendAuthnRequest(browser, sp);
    if (isPasswordPage(page)) page = await browser.submit(page, { username: 'alice', password: PASSWORD });
    const { profile } = await sp.validate(samlPostForm(page).fields.SAMLResponse!);
    return profile!;
  }

  /** `sp`'s Success LogoutResponse to `told`, carried back by the browser by the SP's own binding. */
  async function confirm(browser: TestBrowser, sp: TestSp, told: ReceivedLogoutRequest): Promise<Page> {
    return sendToIdp(browser, await sp.logoutResponse(told.profile, told.relayState, { binding: told.binding }));
  }

  const runs = () => app.services.store.kv.entries('saml-slo-run');
  const sessions = () => app.services.store.kv.count('sso-session');
  const propagationAudit = async (username = 'alice') =>
    (await app.services.store.audit.query({ limit: 500 })).events.filter((event) => event.type === 'logout' && event.via === 'saml-slo-propagation' && event.username === username);

  test('SP-initiated: B (Redirect) and C (POST) are told in turn, then A gets plain Success', async () => {
    const browser = spBrowser();
    const profileA = await signedInAt(browser, spA);
    const profileB = await signedInAt(browser, spB);
    const profileC = await signedInAt(browser, spC);
    const before = await sessions();
    const auditBefore = (await propagationAudit()).length;

    const toB = await spB.receiveLogoutRequest(await browser.get(await spA.logoutUrl(profileA, 'a-state')));
    assert.equal(await sessions(), before - 1, 'the SSO session ends before anyone else is told');
    assert.equal(toB.binding, 'redirect');
    assert.equal(toB.profile.issuer, `${app.url}/saml/metadata`);
    assert.equal(toB.profile.nameID, profileB.nameID);
    assert.equal(toB.profile.nameIDFormat, profileB.nameIDFormat);
    assert.equal(toB.profile.sessionIndex, profileB.sessionIndex);
    assert.match(toB.xml, /Destination="https:\/\/prop-b\.sp\.test\/slo"/);
    assert.match(toB.xml, /NotOnOrAfter="[^"]+"/);
    assert.notEqual(toB.relayState, 'a-state', 'the RelayState to B is the run, not A\'s');

    const toC = await spC.receiveLogoutRequest(await confirm(browser, spB, toB));
    assert.equal(toC.binding, 'post');
    assert.equal(toC.profile.nameID, profileC.nameID);
    assert.equal(toC.profile.sessionIndex, profileC.sessionIndex);

    const final = await confirm(browser, spC, toC);
    const location = final.headers.get('location')!;
    assert.equal(final.status, 303);
    assert.ok(location.startsWith(`${spA.sloUrl}?SAMLResponse=`), location);
    const query = new URL(location).searchParams;
    assert.equal(query.get('RelayState'), 'a-state');
    assert.equal(query.get('SigAlg'), 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    assert.equal((await spA.client().validateRedirectAsync(Object.fromEntries(query), new URL(location).search.slice(1))).loggedOut, true);
    assert.match(redirectMessageXml(location, 'SAMLResponse'), PLAIN_SUCCESS);

    assert.deepEqual(await runs(), [], 'the finished run is gone');
    const audit = (await propagationAudit()).slice(auditBefore);
    assert.deepEqual(audit.map((event) => [event.rp, event.outcome, event.result]).sort(), [
      [spB.entityId, 'success', 'signed-out'],
      [spC.entityId, 'success', 'signed-out'],
    ]);
    assert.ok(app.logs.some((line) => line.msg === 'saml: logout propagated' && line.sp === spC.entityId && line.outcome === 'signed-out'));
    assert.ok(isPasswordPage(await sendAuthnRequest(browser, spB)), 'signed out everywhere');
  });

  test('a participant answering Responder makes the LogoutResponse (POST, xmlsec1-verified) say PartialLogout', async () => {
    const browser = spBrowser();
    const profileC = await signedInAt(browser, spC);
    await signedInAt(browser, spB);
    const parked = await browser.request(`${app.url}/saml/slo`, { method: 'POST', body: new URLSearchParams(await spC.logoutPostFields(profileC, 'c-state')) });
    const toB = await spB.receiveLogoutRequest(parked);

    const refusal = await spB.logoutResponse(toB.profile, toB.relayState, { status: { top: `${STATUS}Responder` } });
    const form = samlPostForm(await sendToIdp(browser, refusal));
    assert.equal(form.action, spC.sloUrl);
    assert.equal(form.fields.RelayState, 'c-state');
    const xml = Buffer.from(form.fields.SAMLResponse!, 'base64').toString('utf8');
    assert.ok((await xmlsecVerify(xml, spC.idpCertPems[0]!, { idAttributes: ['urn:oasis:names:tc:SAML:2.0:protocol:LogoutResponse'] })).ok);
    assert.deepEqual(await spC.validate(form.fields.SAMLResponse!), { profile: null, loggedOut: true });
    assert.match(xml, PARTIAL_LOGOUT);
    const event = (await propagationAudit()).at(-1);
    assert.deepEqual([event?.rp, event?.outcome, event?.result, event?.reason], [spB.entityId, 'failure', 'refused', `${STATUS}Responder`]);
  });

  test('an unsigned LogoutResponse (saml-profiles §4.4.4.2) does not confirm the sign-out: the asking SP gets PartialLogout', async () => {
    // An SP that signs nothing (its metadata says so): its unsigned answer is read, but proves nothing.
    const unsigning = await TestSp.create(app, { name: 'prop-unsigned', redirectSlo: true, signRequests: false });
    const browser = spBrowser();
    const profileA = await signedInAt(browser, spA);
    await signedInAt(browser, unsigning);
    const toB = await unsigning.receiveLogoutRequest(await browser.get(await spA.logoutUrl(profileA, 'a-state')));
    const signed = new URL((await unsigning.logoutResponse(toB.profile, toB.relayState, { binding: 'redirect' })).url);
    signed.searchParams.delete('Signature');
    signed.searchParams.delete('SigAlg');
    const final = await sendToIdp(browser, { url: signed.toString() });
    const location = final.headers.get('location') ?? assert.fail(`${final.status} ${final.url}\n${final.body.slice(0, 600)}`);
    assert.ok(location.startsWith(`${spA.sloUrl}?SAMLResponse=`), location);
    assert.match(redirectMessageXml(location, 'SAMLResponse'), PARTIAL_LOGOUT);
    const audit = (await propagationAudit()).filter((event) => event.rp === unsigning.entityId);
    assert.equal(audit.at(-1)?.result, 'refused');
    assert.ok(app.logs.some((line) => line.code === 'SAML_LOGOUT_RESPONSE_UNSIGNED' && line.sp === unsigning.entityId));
  });

  for (const [what, unverified] of [
    ['with its signature stripped', async (toB: ReceivedLogoutRequest) => {
      const url = new URL((await spB.logoutResponse(toB.profile, toB.relayState, { binding: 'redirect' })).url);
      url.searchParams.delete('Signature');
      url.searchParams.delete('SigAlg');
      return { url: url.toString() };
    }],
    ['signed with another SP\'s key', (toB: ReceivedLogoutRequest) => spB.logoutResponse(toB.profile, toB.relayState, { signWith: { keyPem: spC.keyPem, certPem: spC.certPem } })],
  ] as const) {
    test(`a signing SP's LogoutResponse ${what} does not stop the run: unconfirmed, and the asking SP gets PartialLogout`, async () => {
      const browser = spBrowser();
      const profileA = await signedInAt(browser, spA);
      await signedInAt(browser, spB);
      const toB = await spB.receiveLogoutRequest(await browser.get(await spA.logoutUrl(profileA, 'a-state')));
      const since = app.logs.length;
      const final = await sendToIdp(browser, await unverified(toB));
      const location = final.headers.get('location') ?? assert.fail(`${final.status} ${final.url}\n${final.body.slice(0, 400)}`);
      assert.ok(location.startsWith(`${spA.sloUrl}?SAMLResponse=`), location);
      assert.match(redirectMessageXml(location, 'SAMLResponse'), PARTIAL_LOGOUT);
      assert.ok(app.logs.slice(since).some((line) => line.code === 'SAML_LOGOUT_RESPONSE_UNVERIFIED' && line.sp === spB.entityId));
      assert.equal(app.logs.slice(since).filter((line) => line.code === 'SAML_LOGOUT_RESPONSE_UNSIGNED').length, 0, 'one warning for one answer');
      assert.deepEqual(await runs(), [], 'the run finished');
    });
  }

  test('a participant without an SLO endpoint cannot be asked: PartialLogout at once', async () => {
    const browser = spBrowser();
    const profileA = await signedInAt(browser, spA);
    await signedInAt(browser, noSlo);
    const answer = await browser.get(await spA.logoutUrl(profileA));
    const location = answer.headers.get('location')!;
    assert.ok(location.startsWith(`${spA.sloUrl}?SAMLResponse=`), location);
    assert.match(redirectMessageXml(location, 'SAMLResponse'), PARTIAL_LOGOUT);
    const event = (await propagationAudit()).at(-1);
    assert.deepEqual([event?.rp, event?.result, event?.reason], [noSlo.entityId, 'not-asked', 'no-slo-endpoint']);
    assert.deepEqual(await runs(), [], 'nothing to wait for, nothing stored');
  });

  test('POST /logout: the chain runs through B and C and the page lists both as signed out', async () => {
    const browser = spBrowser();
    await signedInAt(browser, spB);
    await signedInAt(browser, spC);
    const toB = await spB.receiveLogoutRequest(await browser.submit(await browser.get(`${app.url}/logout`), {}, '/logout'));
    const toC = await spC.receiveLogoutRequest(await confirm(browser, spB, toB));
    const page = await confirm(browser, spC, toC);
    assert.equal(page.status, 200);
    assert.equal(new URL(page.url).pathname, '/saml/slo/done', 'the run ends with a redirect to a page of its own');
    assert.match(page.body, /You are signed out/);
    const confirmed = /<ul class="apps-confirmed">([\s\S]*?)<\/ul>/.exec(page.body)?.[1];
    assert.equal(confirmed, '<li>B &amp; &lt;Co&gt;</li><li>prop-c</li>', 'both listed, names escaped');
    assert.doesNotMatch(page.body, /Not confirmed/);
    assert.deepEqual(await runs(), []);
  });

  for (const last of ['redirect', 'post'] as const) {
    test(`Reload and Back to the last page of POST /logout (the last SP answered by ${last}) show the same lists, not a refused answer`, async () => {
      const browser = spBrowser();
      await signedInAt(browser, spB);
      await signedInAt(browser, noSlo);
      const toB = await spB.receiveLogoutRequest(await browser.submit(await browser.get(`${app.url}/logout`), {}, '/logout'));
      const answer = await spB.logoutResponse(toB.profile, toB.relayState, { binding: last });
      const page = await sendToIdp(browser, answer);
      const lists = (body: string) => [/<ul class="apps-confirmed">([\s\S]*?)<\/ul>/.exec(body)?.[1], /<ul class="apps-unconfirmed">([\s\S]*?)<\/ul>/.exec(body)?.[1]];
      assert.equal(page.status, 200);
      assert.match(page.body, /You are signed out/);
      assert.deepEqual(lists(page.body), ['<li>B &amp; &lt;Co&gt;</li>', '<li>prop-noslo</li>']);

      const reloaded = await browser.get(page.url);
      assert.equal(reloaded.status, 200, reloaded.body.slice(0, 300));
      assert.equal(reloaded.url, page.url);
      assert.match(reloaded.body, /You are signed out/);
      assert.deepEqual(lists(reloaded.body), lists(page.body));
      assert.equal(reloaded.headers.get('cache-control'), 'no-store');

      const elsewhere = await spBrowser().get(page.url);
      assert.equal(new URL(elsewhere.url).pathname, '/signed-out', 'another browser is not shown the applications');
      assert.doesNotMatch(elsewhere.body, /apps-(?:un)?confirmed|You are signed out/);

      await signedInAt(browser, spB);
      const signedInAgain = await browser.get(page.url);
      assert.equal(new URL(signedInAgain.url).pathname, '/logout', 'signed in again since: offered the sign-out, not told it is done');
    });
  }

  test('an SP without an SLO endpoint asking to end another session of its user: the page says there was none to end, also on Reload, and the sign-in here goes on', async () => {
    const browser = spBrowser();
    const profile = await signedInAt(browser, noSlo);
    const answer = await browser.get(await noSlo.logoutUrl({ ...profile, sessionIndex: 'not-this-one' }), { followRedirects: false });
    assert.equal(answer.status, 303);
    for (const view of ['first', 'reload']) {
      const page = await browser.get(new URL(answer.headers.get('location')!, app.url).toString());
      assert.equal(new URL(page.url).pathname, '/saml/slo/done', `${view}: its own page, not the offer to sign out`);
      assert.equal(page.status, 200);
      assert.match(page.body, /There was no sign-in here to end\./, view);
    }
    assert.ok(samlPostForm(await sendAuthnRequest(browser, noSlo)), 'still signed in');
  });

  test('OIDC RP-initiated logout: the SAML participants are told first, then the browser goes on to the client with its state', async () => {
    const rp: TestRp = await createRp(app);
    const browser = spBrowser();
    browser.stopAt.push(CALLBACK_BASE);
    const profileB = await signedInAt(browser, spB);
    await signedInAt(browser, spC);
    // The OIDC sign-in reuses the SSO session: no password page.
    const { tokens } = await signIn(rp, browser, undefined);
    const confirmPage = await browser.get(oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: rp.postLogoutRedirectUri, state: 'bye' }).toString());
    const toB = await spB.receiveLogoutRequest(await browser.submit(confirmPage, { logout: 'yes' }));
    assert.equal(toB.profile.nameID, profileB.nameID);
    const toC = await spC.receiveLogoutRequest(await confirm(browser, spB, toB));
    const last = await confirm(browser, spC, toC);
    assert.equal(last.status, 303);
    const back = new URL(last.headers.get('location')!);
    assert.equal(`${back.origin}${back.pathname}`, rp.postLogoutRedirectUri);
    assert.equal(back.searchParams.get('state'), 'bye', 'the state oidc-provider added is kept');
    assert.deepEqual(await runs(), []);
    assert.ok((await propagationAudit()).some((event) => event.rp === spC.entityId && event.result === 'signed-out'));
  });

  test('"Not you?" on a sign-in\'s setup page tells the SAML SPs through the browser, then the same sign-in asks for a password', async () => {
    const browser = spBrowser();
    const profileB = await signedInAt(browser, spB);
    const tx = await app.services.interaction.deps.transactions.create(
      loginRequest({ rpId: 'mfa-app', rpName: 'MFA App', rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }),
    );
    const setup = await browser.get(`${app.url}/login/${tx.id}`);
    assert.match(setup.body, /Signed in as/, 'alice has no second factor: the setup page, naming her');
    const toB = await spB.receiveLogoutRequest(await browser.submit(setup, {}, '/switch-account'));
    assert.equal(toB.profile.nameID, profileB.nameID, 'the SP alice signed in to is told');
    const back = await confirm(browser, spB, toB);
    const next = back.status === 303 ? await browser.get(new URL(back.headers.get('location')!, app.url).toString()) : back;
    assert.equal(new URL(next.url).pathname, `/login/${tx.id}`, 'back at the same sign-in');
    assert.ok(isPasswordPage(next), 'which now asks for a password');
    assert.ok((await propagationAudit()).some((event) => event.rp === spB.entityId && event.result === 'signed-out'));
  });

  test('POST /logout with a participant that cannot be asked lists it as not confirmed', async () => {
    const browser = spBrowser();
    await signedInAt(browser, noSlo);
    const page = await browser.submit(await browser.get(`${app.url}/logout`), {}, '/logout');
    assert.equal(page.status, 200);
    assert.match(/<ul class="apps-unconfirmed">([\s\S]*?)<\/ul>/.exec(page.body)?.[1] ?? '', /<li>prop-noslo<\/li>/);
    assert.doesNotMatch(page.body, /apps-confirmed/);
  });

  describe('refused LogoutResponses leave the run as it was', () => {
    let browser: TestBrowser;
    let profileA: Profile;
    let toB: ReceivedLogoutRequest;
    let run: Awaited<ReturnType<typeof runs>>;

    before(async () => {
      browser = spBrowser();
      profileA = await signedInAt(browser, spA);
      await signedInAt(browser, spB);
      await signedInAt(browser, spC);
      toB = await spB.receiveLogoutRequest(await browser.get(await spA.logoutUrl(profileA, 'a-state')));
      run = await runs();
      assert.equal(run.length, 1);
    });

    /** The refused answer of a run this browser is in: the sign-out here is done, the application's is not confirmed. */
    const ANSWER_REFUSED = /<p role="alert"[^>]*>The application(?:'|&#39;)s answer to your sign-out is not valid, so it was refused\. You are signed out of this sign-in service, but the application did not confirm that it signed you out too\. Close the browser to be sure\.<\/p>/;
    const NOT_IN_PROGRESS = /<p role="alert"[^>]*>The application answered a sign-out that is not in progress in this browser, or that has expired\./;

    /** The page is a 400 error page in sign-out words (`wording`), a warning names `code` and `reason`, and the run did not move. */
    async function refused(page: Page, code: string, reason: string | RegExp, wording = ANSWER_REFUSED): Promise<void> {
      assert.equal(page.status, 400, page.body.slice(0, 300));
      assert.doesNotMatch(page.body, /SAMLRequest|SAMLResponse|at .*\.ts:\d+/, 'an error page, no message, no stack');
      assert.match(page.body, wording);
      assert.doesNotMatch(page.body, /sign-in request/);
      const warned = app.logs.slice(-20).some((line) => line.level === 40 && line.code === code && (typeof reason === 'string' ? (line.detail as { reason?: string })?.reason === reason : reason.test(String((line.detail as { reason?: string })?.reason))));
      assert.ok(warned, `a warning with ${code} / ${reason}`);
      assert.deepEqual(await runs(), run, 'the run is unchanged');
    }

    test('answering another request (InResponseTo)', async () => {
      const other = await spB.logoutResponse(toB.profile, toB.relayState, { inResponseTo: '_not-the-request-we-sent' });
      await refused(await sendToIdp(browser, other), 'SAML_REQUEST_INVALID', 'logout-response-wrong-in-response-to');
    });

    test('issued by another SP than the one asked', async () => {
      const intruder = await spA.logoutResponse(toB.profile, toB.relayState);
      await refused(await sendToIdp(browser, intruder), 'SAML_REQUEST_INVALID', 'logout-response-from-unexpected-sp');
    });

    test('naming no run, or a run id that does not exist', async () => {
      await refused(await sendToIdp(browser, await spB.logoutResponse(toB.profile, '')), 'SAML_REQUEST_INVALID', 'unexpected-logout-response', NOT_IN_PROGRESS);
      const page = await sendToIdp(browser, await spB.logoutResponse(toB.profile, 'A'.repeat(43)));
      await refused(page, 'SAML_REQUEST_INVALID', 'unexpected-logout-response', NOT_IN_PROGRESS);
    });

    test('the right answer carried by another browser', async () => {
      const stranger = spBrowser();
      await stranger.get(`${app.url}/logout`); // it has a browser binding cookie of its own
      await refused(await sendToIdp(stranger, await spB.logoutResponse(toB.profile, toB.relayState)), 'SAML_REQUEST_INVALID', 'logout-run-of-another-browser', NOT_IN_PROGRESS);
    });

    test('malformed XML', async () => {
      const broken = deflateRawSync(Buffer.from('<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x"')).toString('base64');
      const url = `${app.url}/saml/slo?SAMLResponse=${encodeURIComponent(broken)}&RelayState=${encodeURIComponent(toB.relayState)}`;
      await refused(await browser.get(url), 'SAML_REQUEST_INVALID', 'schema');
    });

    test('the right answer still works afterwards; replaying an accepted answer is refused', async () => {
      const answerB = await spB.logoutResponse(toB.profile, toB.relayState);
      const toC = await spC.receiveLogoutRequest(await sendToIdp(browser, answerB));
      run = await runs();
      await refused(await sendToIdp(browser, answerB), 'SAML_REQUEST_INVALID', /^logout-response-/);

      // C answers by POST: verified, parked, and the browser sent on with a 303. The same POST again
      // (before the browser got there) is a replay.
      const answerC = await spC.logoutResponse(toC.profile, toC.relayState, { binding: 'post' });
      const parked = await sendToIdp(browser, answerC, { followRedirects: false });
      assert.equal(parked.status, 303);
      await refused(await sendToIdp(browser, answerC, { followRedirects: false }), 'SAML_REQUEST_INVALID', 'replayed');

      const final = await browser.get(new URL(parked.headers.get('location')!, app.url).toString());
      const location = final.headers.get('location')!;
      assert.ok(location.startsWith(`${spA.sloUrl}?SAMLResponse=`), location);
      assert.match(redirectMessageXml(location, 'SAMLResponse'), PLAIN_SUCCESS);
      assert.deepEqual(await runs(), []);
    });
  });
});

test('a restart in the middle of a logout run loses nothing: the next participant\'s answer goes on with the run', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-slo-restart-'));
  const secretKey = randomBytes(32).toString('base64');
  let app = await boot({}, { dataDir, secretKey });
  try {
    await addLocalUser(app.services, 'alice', PASSWORD);
    const [spA, spB] = await Promise.all([TestSp.create(app, { name: 'restart-a', redirectSlo: true }), TestSp.create(app, { name: 'restart-b', redirectSlo: true })]);
    const browser = new TestBrowser();
    browser.stopAt.push('https://');
    const page = await sendAuthnRequest(browser, spA);
    const { profile: profileA } = await spA.validate(samlPostForm(await browser.submit(page, { username: 'alice', password: PASSWORD })).fields.SAMLResponse!);
    assert.ok(samlPostForm(await sendAuthnRequest(browser, spB)).fields.SAMLResponse);
    const toB = await spB.receiveLogoutRequest(await browser.get(await spA.logoutUrl(profileA!, 'a-state')));

    const { port } = app;
    await app.close();
    app = await boot({}, { dataDir, secretKey, port });

    const final = await sendToIdp(browser, await spB.logoutResponse(toB.profile, toB.relayState, { binding: toB.binding }));
    const location = final.headers.get('location') ?? '';
    assert.ok(location.startsWith(`${spA.sloUrl}?SAMLResponse=`), `A gets its answer after the restart: ${final.status} ${location || final.body.slice(0, 200)}`);
    assert.equal(new URL(location).searchParams.get('RelayState'), 'a-state');
    assert.match(redirectMessageXml(location, 'SAMLResponse'), PLAIN_SUCCESS, 'B confirmed, so plain Success');
    assert.deepEqual(await app.services.store.kv.entries('saml-slo-run'), [], 'the finished run is gone');
  } finally {
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
