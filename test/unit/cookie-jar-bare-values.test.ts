import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Request } from 'express';
import { CookieJar } from '../../src/http/cookies.ts';

const requestWith = (cookie: string) => ({ headers: { cookie } }) as unknown as Request;

/**
 * A nameless cookie is sent as its bare value, with no `=`: the parser reads no cookie from it. One a
 * sibling host planted with a value that looks like a name (`sg_sessionX`, `__Host-sg_session1`) is
 * not a second cookie of that name, or anyone who may set a cookie on a sibling host could make
 * every user's own session cookie read as none, and sign them out.
 */
test('a bare value without "=" is no cookie of the name, however close to it: the real one is still read', () => {
  for (const [publicUrl, wire] of [['http://localhost:8080', 'sg_session'], ['https://idp.example.org', '__Host-sg_session']]) {
    const jar = new CookieJar(publicUrl);
    for (const planted of [`${wire}X`, `${wire}1`, ` ${wire}_`]) {
      assert.equal(jar.read(requestWith(`${planted}; ${wire}=victim`), 'sg_session'), 'victim', `${publicUrl}: ${planted} first`);
      assert.equal(jar.read(requestWith(`${wire}=victim;${planted}`), 'sg_session'), 'victim', `${publicUrl}: ${planted} last`);
    }
  }
});
