import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestSp } from '../helpers/saml-sp.ts';
import { CALLER_TEXT_MAX_LENGTH } from '../../src/core/caller-text.ts';
import { WARNINGS_PER_KIND } from '../../src/http/warning-budget.ts';

/**
 * The NameIDPolicy and RequestedAuthnContext an AuthnRequest asks for are the caller's text, up to
 * saml.maxInflatedBytes: the warning of a request that cannot be met carries them cut, and goes
 * through the server's WarningBudget, so a script cannot write 250 KB lines, nor a line per request.
 */

let app: Booted;
let sp: TestSp;

before(async () => {
  app = await boot();
  sp = await TestSp.create(app, { name: 'bounded-warnings' });
});
after(() => app?.close());

type LogLine = Record<string, unknown>;

/** Sends one AuthnRequest of `sp` with `overrides`; the request id of the answer. */
async function sendAuthnRequest(overrides: Parameters<TestSp['authnRequest']>[1]): Promise<string> {
  const answer = await fetch((await sp.authnRequest('', overrides)).url);
  assert.equal(answer.status, 200, 'answered with an error Response for the SP');
  return answer.headers.get('x-request-id')!;
}

const warningsOf = (code: string): LogLine[] => app.logs.filter((line) => line.code === code && line.level === 40);

test('a NameIDPolicy that cannot be honoured: its Format cut in the warning; past the budget, no more lines', async () => {
  const format = `urn:example:nameid-format:${'F'.repeat(5_000)}`;
  const first = await sendAuthnRequest({ identifierFormat: format });
  const [line] = warningsOf('SAML_NAMEID_POLICY_UNSUPPORTED').filter((logged) => logged.reqId === first);
  assert.deepEqual(line!.requested, { format: format.slice(0, CALLER_TEXT_MAX_LENGTH) });
  assert.ok(JSON.stringify(line).length < 2_000, `${JSON.stringify(line).length} bytes`);

  for (let i = 0; i < WARNINGS_PER_KIND; i++) await sendAuthnRequest({ identifierFormat: format });
  assert.equal(warningsOf('SAML_NAMEID_POLICY_UNSUPPORTED').length, WARNINGS_PER_KIND, 'thinned with the server\'s other warnings');
});

test('a RequestedAuthnContext that cannot be satisfied: some of its refs, each cut, and how many there were', async () => {
  const refs = Array.from({ length: 40 }, (_, i) => `urn:example:ac:${i}:${'A'.repeat(3_000)}`);
  const reqId = await sendAuthnRequest({ authnContext: refs });
  const [line] = warningsOf('SAML_AUTHN_CONTEXT_UNSUPPORTED').filter((logged) => logged.reqId === reqId);
  const requested = line!.requested as { comparison: string; values: string[]; valueCount: number };
  assert.equal(requested.valueCount, refs.length);
  assert.ok(requested.values.length > 0 && requested.values.length < refs.length, `${requested.values.length} refs`);
  assert.deepEqual(requested.values, refs.slice(0, requested.values.length).map((ref) => ref.slice(0, CALLER_TEXT_MAX_LENGTH)));
  assert.ok(JSON.stringify(line).length < 4_000, `${JSON.stringify(line).length} bytes`);
});
