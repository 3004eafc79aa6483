import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { cliProcess, type CliRun } from '../helpers/cli.ts';
import { until } from '../helpers/until.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { createSpRegistry } from '../../src/saml/sp-registry.ts';
import type { ServiceProviderRecord } from '../../src/saml/sp-types.ts';

const PASSWORD = 'Mid-sign-in-2026';
const SECRET_KEY = randomBytes(32).toString('base64');
let app: Booted;
let work: string;

before(async () => {
  app = await boot({}, { secretKey: SECRET_KEY });
  work = await mkdtemp(join(tmpdir(), 'stepgate-sp-change-'));
  await addLocalUser(app.services, 'alice', PASSWORD);
});
after(async () => {
  await app?.close();
  await rm(work, { recursive: true, force: true });
});

async function cli(...words: string[]): Promise<CliRun> {
  const run = await cliProcess(app, SECRET_KEY, words);
  assert.equal(run.code, 0, `${words.join(' ')}: ${run.err}`);
  return run;
}

/** The SP's metadata with its only ACS moved to `<acs>2`, written to a file for the CLI. */
async function movedAcsMetadata(sp: TestSp): Promise<string> {
  const path = join(work, `${sp.options.name}-moved.xml`);
  await writeFile(path, sp.metadataXml.replace(`Location="${sp.acsUrl}"`, `Location="${sp.acsUrl}2"`));
  return path;
}

function serverSees(entityId: string, ok: (sp: ServiceProviderRecord | undefined) => boolean): Promise<unknown> {
  return until(() => createSpRegistry(app.services.store, app.services.clock).get(entityId), ok, `the server to read the change to ${entityId}`);
}

async function ssoFailures(entityId: string): Promise<Array<Record<string, unknown>>> {
  return (await app.services.store.audit.query({ types: ['saml.sso'], outcome: 'failure', limit: 100 })).events.filter((event) => event.rp === entityId);
}

/** An error page, and nothing for the SP: no SAMLResponse form, no "Back to the application" that could not work. */
function assertNothingPosted(page: Page): void {
  assert.equal(page.status, 400, page.body.slice(0, 400));
  assert.doesNotMatch(page.body, /SAMLResponse/);
  assert.doesNotMatch(page.body, /\/cancel"/);
}

/** A sign-in opened at the SP, left at the password page while `change` is made. */
async function signInAcross(sp: TestSp, change: () => Promise<unknown>): Promise<{ browser: TestBrowser; page: Page }> {
  const browser = new TestBrowser();
  const page = await sendAuthnRequest(browser, sp);
  assert.ok(isPasswordPage(page));
  await change();
  return { browser, page };
}

for (const [how, change] of [
  ['sp set --metadata', async (sp: TestSp) => cli('sp', 'set', sp.entityId, '--metadata', await movedAcsMetadata(sp))],
  ['sp remove and sp add', async (sp: TestSp) => (await cli('sp', 'remove', sp.entityId), cli('sp', 'add', await movedAcsMetadata(sp)))],
] as const) {
  test(`the SP's ACS moved by ${how} while the user is at the password page: an error page, nothing posted to the old ACS, audited`, async () => {
    const sp = await TestSp.create(app, { name: `acs-${how.split(' ')[1]}` });
    const { browser, page } = await signInAcross(sp, async () => {
      await change(sp);
      await serverSees(sp.entityId, (record) => record?.acs[0]?.location === `${sp.acsUrl}2`);
    });
    const finished = await browser.submit(page, { username: 'alice', password: PASSWORD });
    assertNothingPosted(finished);
    assert.match(finished.body, /changed while you were signing in: the address your sign-in was to return to is no longer registered for it\. Go back to [^ ]+ and sign in again\./);
    const [event] = await ssoFailures(sp.entityId);
    assert.deepEqual([event?.reason, event?.username, event?.idpInitiated], ['acs-no-longer-registered', 'alice', false]);
    assert.equal(app.logs.filter((line) => line.code === 'SAML_ACS_NO_LONGER_REGISTERED' && line.sp === sp.entityId).length, 1);
  });
}

test('a cancel after the ACS moved: no error Response posted to the old ACS either', async () => {
  const sp = await TestSp.create(app, { name: 'acs-cancel' });
  const { browser, page } = await signInAcross(sp, async () => {
    await cli('sp', 'set', sp.entityId, '--metadata', await movedAcsMetadata(sp));
    await serverSees(sp.entityId, (record) => record?.acs[0]?.location === `${sp.acsUrl}2`);
  });
  assertNothingPosted(await browser.submit(page, {}, '/cancel'));
  assert.deepEqual((await ssoFailures(sp.entityId)).map((event) => [event.reason, event.username]), [['acs-no-longer-registered', undefined]]);
});

test('new metadata that still lists the ACS (a certificate added): the sign-in under way finishes there', async () => {
  const sp = await TestSp.create(app, { name: 'acs-kept' });
  const { browser, page } = await signInAcross(sp, async () => {
    const path = join(work, 'acs-kept.xml');
    await writeFile(path, sp.metadataXml.replace('</SPSSODescriptor>', `<AssertionConsumerService index="2" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${sp.acsUrl}2"/></SPSSODescriptor>`));
    await cli('sp', 'set', sp.entityId, '--metadata', path);
    await serverSees(sp.entityId, (record) => record?.acs.length === 2);
  });
  const form = samlPostForm(await browser.submit(page, { username: 'alice', password: PASSWORD }));
  assert.equal(form.action, sp.acsUrl);
  await sp.validate(form.fields.SAMLResponse!);
});

test('the SP removed while the user is at the password page, who then cancels: an error page, audited as a saml.sso failure', async () => {
  const sp = await TestSp.create(app, { name: 'removed-cancel' });
  const { browser, page } = await signInAcross(sp, async () => {
    await cli('sp', 'remove', sp.entityId);
    await serverSees(sp.entityId, (record) => record === undefined);
  });
  const answer = await browser.submit(page, {}, '/cancel');
  assert.deepEqual((await ssoFailures(sp.entityId)).map((event) => [event.reason, event.idpInitiated]), [['application-removed', false]]);
  assertNothingPosted(answer);
  assert.match(answer.body, /not registered with this sign-in service/);
});

test('the SP removed while the user is at the password page, who then signs in: an error page, audited as a saml.sso failure', async () => {
  const sp = await TestSp.create(app, { name: 'removed-password' });
  const { browser, page } = await signInAcross(sp, async () => {
    await cli('sp', 'remove', sp.entityId);
    await serverSees(sp.entityId, (record) => record === undefined);
  });
  const answer = await browser.submit(page, { username: 'alice', password: PASSWORD });
  assertNothingPosted(answer);
  assert.match(answer.body, /not registered with this sign-in service/);
  assert.deepEqual((await ssoFailures(sp.entityId)).map((event) => event.reason), ['application-removed']);
});
