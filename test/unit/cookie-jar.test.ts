import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Request, Response } from 'express';
import { CookieJar } from '../../src/http/cookies.ts';

const requestWith = (cookie: string) => ({ headers: { cookie } }) as unknown as Request;

function written(jar: CookieJar, name: string, value: string): string {
  const headers: string[] = [];
  jar.set({ append: (_: string, header: string) => headers.push(header) } as unknown as Response, name, value);
  return headers[0]!;
}

test('over https the cookies are __Host- cookies: Secure, Path=/, no Domain; a plain cookie of the same name is not read', () => {
  const jar = new CookieJar('https://idp.example.org');
  const header = written(jar, 'sg_session', 'abc');
  assert.match(header, /^__Host-sg_session=abc; /);
  assert.match(header, /Path=\//);
  assert.match(header, /Secure/);
  assert.doesNotMatch(header, /Domain=/i);
  assert.equal(jar.read(requestWith('__Host-sg_session=abc'), 'sg_session'), 'abc');
  assert.equal(jar.read(requestWith('sg_session=planted'), 'sg_session'), undefined, 'a sibling host can set sg_session, never __Host-sg_session');
});

test('a cookie sent twice (one of them planted with a more specific path or a parent domain) is read as none', () => {
  for (const [publicUrl, name] of [['https://idp.example.org', '__Host-sg_bb'], ['http://localhost:8080', 'sg_bb']]) {
    const jar = new CookieJar(publicUrl);
    assert.equal(jar.read(requestWith(`${name}=attacker; other=1; ${name}=victim`), 'sg_bb'), undefined, publicUrl);
    assert.equal(jar.read(requestWith(`other=1; ${name}=victim`), 'sg_bb'), 'victim', publicUrl);
  }
});

test('a second cookie of the name written with spaces around it (a planted nameless cookie sent as its bare value) counts, and neither is read', () => {
  const jar = new CookieJar('http://localhost:8080');
  for (const header of ['sg_session =attacker; sg_session=victim', ' sg_session\t=attacker;sg_session=victim', 'sg_session=victim; sg_session = attacker']) {
    assert.equal(jar.read(requestWith(header), 'sg_session'), undefined, header);
  }
  assert.equal(jar.read(requestWith('sg_session =only'), 'sg_session'), 'only', 'one cookie of the name, however spaced, is read');
  assert.equal(jar.read(requestWith('sg_sessionx=1; sg_session=victim'), 'sg_session'), 'victim', 'another name that starts alike is not counted');
});

test('a request whose Cookie header is rewritten (the OIDC bridge resuming an authorization) is read anew', () => {
  const jar = new CookieJar('http://localhost:8080');
  const req = requestWith('sg_bb=first; sg_session=s1');
  assert.equal(jar.read(req, 'sg_bb'), 'first');
  assert.equal(jar.read(req, 'sg_session'), 's1');
  req.headers.cookie = 'sg_bb=second; sg_session=s1; sg_session=planted';
  assert.equal(jar.read(req, 'sg_bb'), 'second');
  assert.equal(jar.read(req, 'sg_session'), undefined, 'now sent twice');
  req.headers.cookie = 'sg_session=s2';
  assert.equal(jar.read(req, 'sg_bb'), undefined);
  assert.equal(jar.read(req, 'sg_session'), 's2');
  delete req.headers.cookie;
  assert.equal(jar.read(req, 'sg_session'), undefined);
});
