import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Profile } from '@node-saml/node-saml';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, parseForms, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, isPasswordPage, redirectMessageXml } from '../helpers/saml-sp.ts';

/**
 * A request is accepted while its IssueInstant is at most clockSkewSeconds ahead and at most
 * requestMaxAgeSeconds + clockSkewSeconds behind. Its ID's replay marker must outlive that whole
 * window: a request dated clockSkewSeconds ahead is still accepted until IssueInstant +
 * requestMaxAgeSeconds + clockSkewSeconds, which is requestMaxAgeSeconds + 2 × clockSkewSeconds after
 * it was first seen. A marker kept only requestMaxAgeSeconds would let it be played again in the gap.
 */
const PASSWORD = 'Correct-horse-42';

let offsetMs = 0;
const clock = { now: () => Date.now() + offsetMs };
/** Sets the test clock to `instant`. */
const at = (instant: number): void => {
  offsetMs = instant - Date.now();
};

/** node-saml's request XML with its IssueInstant replaced, signed by the SP in the Redirect query. */
function signedRedirect(sp: TestSp, xml: string, issueInstant: number, operation: 'authorize' | 'logout'): Promise<string> {
  const dated = xml.replace(/IssueInstant="[^"]*"/, `IssueInstant="${new Date(issueInstant).toISOString()}"`);
  return sp.client()._requestToUrlAsync(dated, null, operation, {});
}

async function authnRequestUrl(sp: TestSp, issueInstant: number): Promise<string> {
  const unsigned = await sp.client({ privateKey: undefined }).getAuthorizeUrlAsync('', undefined, {});
  return signedRedirect(sp, redirectMessageXml(unsigned, 'SAMLRequest'), issueInstant, 'authorize');
}

async function logoutRequestUrl(sp: TestSp, issueInstant: number): Promise<string> {
  const profile: Profile = { issuer: sp.entityId, nameID: 'alice', nameIDFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' };
  return signedRedirect(sp, await sp.client()._generateLogoutRequest(profile), issueInstant, 'logout');
}

/** Refused as a replay: 400, a warn line with that reason, nothing issued. */
function assertReplayed(app: Booted, page: Page, since: number): void {
  assert.equal(page.status, 400, `${page.status} ${page.headers.get('location') ?? page.body.slice(0, 300)}`);
  assert.doesNotMatch(page.body, /name="SAMLResponse"/);
  const warned = app.logs.slice(since).find((line) => line.level === 40 && line.code === 'SAML_REQUEST_INVALID');
  assert.equal((warned?.detail as { reason?: string } | undefined)?.reason, 'replayed', JSON.stringify(warned));
}

/** The last instant the window accepts a request issued at `issueInstant`, less a margin. */
function justBeforeItExpires(app: Booted, issueInstant: number): number {
  const { requestMaxAgeSeconds, clockSkewSeconds } = app.services.config.saml;
  return issueInstant + (requestMaxAgeSeconds + clockSkewSeconds) * 1000 - 5_000;
}

test('a LogoutRequest dated clockSkewSeconds ahead, replayed just before it would expire, is refused as replayed', async () => {
  offsetMs = 0;
  const app = await boot({}, { clock });
  try {
    const sp = await TestSp.create(app, { name: 'r9-replay-slo' });
    const issueInstant = clock.now() + app.services.config.saml.clockSkewSeconds * 1000;
    const url = await logoutRequestUrl(sp, issueInstant);
    const first = await new TestBrowser().get(url);
    assert.equal(parseForms(first.body, first.url).find((form) => 'SAMLResponse' in form.fields)?.action, sp.sloUrl, `accepted and answered when it arrives: ${first.status} ${first.body.slice(0, 300)}`);

    at(justBeforeItExpires(app, issueInstant));
    const since = app.logs.length;
    assertReplayed(app, await new TestBrowser().get(url, { followRedirects: false }), since);

    // Control: at this time a request of the same date, with an ID not seen before, is still accepted.
    const fresh = await new TestBrowser().get(await logoutRequestUrl(sp, issueInstant));
    assert.equal(parseForms(fresh.body, fresh.url).find((form) => 'SAMLResponse' in form.fields)?.action, sp.sloUrl, `${fresh.status} ${fresh.body.slice(0, 300)}`);
  } finally {
    offsetMs = 0;
    await app.close();
  }
});

test('an AuthnRequest dated clockSkewSeconds ahead, replayed after a restart just before it would expire, is refused as replayed', async () => {
  // After a restart only the durable replay marker remembers the request (the open sign-in it
  // started is kept in memory), so this is the marker's lifetime alone.
  offsetMs = 0;
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-r9-replay-'));
  const secretKey = randomBytes(32).toString('base64');
  let app = await boot({}, { clock, dataDir, secretKey });
  try {
    await addLocalUser(app.services, 'alice', PASSWORD);
    const sp = await TestSp.create(app, { name: 'r9-replay-sso' });
    const issueInstant = clock.now() + app.services.config.saml.clockSkewSeconds * 1000;
    const url = await authnRequestUrl(sp, issueInstant);
    assert.ok(isPasswordPage(await new TestBrowser().get(url)), 'accepted when it arrives');

    const { port } = app;
    await app.close();
    app = await boot({}, { clock, dataDir, secretKey, port });

    at(justBeforeItExpires(app, issueInstant));
    const since = app.logs.length;
    assertReplayed(app, await new TestBrowser().get(url, { followRedirects: false }), since);

    // Control: at this time a request of the same date, with an ID not seen before, is still accepted.
    assert.ok(isPasswordPage(await new TestBrowser().get(await authnRequestUrl(sp, issueInstant))));
  } finally {
    offsetMs = 0;
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
