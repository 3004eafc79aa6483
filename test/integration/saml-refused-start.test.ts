import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { TestSp, isPasswordPage, redirectMessageXml } from '../helpers/saml-sp.ts';

const HTTP_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const ARTIFACT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact';

// AuthnRequests are dated by the test SP with the real time.
let offsetMs = 0;
const clock = { now: () => Date.now() + offsetMs };
let app: Booted;
let sp: TestSp;

before(async () => {
  app = await boot({ regulation: { signInStartsPerIpPerMinute: 2 } }, { clock });
  sp = await TestSp.create(app, { name: 'refused-starts', signRequests: false });
});
after(() => app?.close());

const journalBytes = async () => (await stat(join(app.dataDir, 'kv.journal'))).size;

/** A fresh AuthnRequest of the SP, as a Redirect-binding URL; `alter` changes its XML. */
async function authnRequestUrl(alter: (xml: string) => string = (xml) => xml): Promise<string> {
  const xml = alter(redirectMessageXml((await sp.authnRequest()).url, 'SAMLRequest'));
  return `${app.url}/saml/sso?${new URLSearchParams({ SAMLRequest: deflateRawSync(xml).toString('base64') })}`;
}
const askingForArtifact = (xml: string) => xml.replace(`ProtocolBinding="${HTTP_POST}"`, `ProtocolBinding="${ARTIFACT}"`);

test('an AuthnRequest refused by the start limit writes nothing durable and signs nothing; its error Response is the plain 429 page', async () => {
  for (let i = 0; i < 2; i++) assert.ok(isPasswordPage(await new TestBrowser().get(await authnRequestUrl())), `start ${i + 1}`);
  const journal = await journalBytes();
  const since = app.logs.length;

  const refusedUrl = await authnRequestUrl();
  const refused = await new TestBrowser().get(refusedUrl);
  assert.equal(refused.status, 429);
  assert.match(refused.body, /Too many attempts/);
  const wrongBinding = await new TestBrowser().get(await authnRequestUrl(askingForArtifact));
  assert.equal(wrongBinding.status, 429);
  assert.doesNotMatch(wrongBinding.body, /SAMLResponse/, 'no signed Requester/UnsupportedBinding Response beyond the limit');
  assert.equal(app.logs.slice(since).filter((line) => line.code === 'SAML_UNSUPPORTED_BINDING').length, 0);
  await sleep(100); // anything written in the background is written by now
  assert.equal(await journalBytes(), journal, 'no replay marker written for a refused start');

  offsetMs += 60_000;
  const accepted = await new TestBrowser().get(refusedUrl);
  assert.ok(isPasswordPage(accepted), `a request refused for the limit was never remembered, so once the limit allows it is a first sight; got ${accepted.status}`);
  assert.ok((await journalBytes()) > journal, 'its replay marker is written now');
  assert.equal((await new TestBrowser().get(refusedUrl)).status, 400, 'and a replay of it is refused');
  offsetMs += 60_000;
  assert.match((await new TestBrowser().get(await authnRequestUrl(askingForArtifact))).body, /name="SAMLResponse"/, 'within the limit the error Response is sent as before');
});

test('the request of a sign-in still open, sent again by its browser (Back), is not a start: the limit does not refuse it', async () => {
  offsetMs += 120_000;
  const browser = new TestBrowser();
  const url = await authnRequestUrl();
  assert.ok(isPasswordPage(await browser.get(url)), 'the first start');
  assert.ok(isPasswordPage(await new TestBrowser().get(await authnRequestUrl())), 'another start uses the last place');
  assert.equal((await new TestBrowser().get(await authnRequestUrl())).status, 429, 'the limit is full');
  const back = await browser.get(url);
  assert.ok(isPasswordPage(back), `Back resends the request: the browser is back at its sign-in, got ${back.status}`);
});
