import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Response } from 'express';
import { CookieJar } from '../../src/http/cookies.ts';

/** The Set-Cookie headers CookieJar writes for `write` (set, clear). */
function headersOf(write: (jar: CookieJar, res: Response) => void, publicUrl: string): string[] {
  const headers: string[] = [];
  write(new CookieJar(publicUrl), { append: (_: string, header: string) => headers.push(header) } as unknown as Response);
  return headers;
}

test('every cookie set or cleared is HttpOnly and SameSite=Lax, over http as over https: no page script can read the session or binding cookie', () => {
  for (const publicUrl of ['http://localhost:8080', 'https://idp.example.org']) {
    const written = [
      ...headersOf((jar, res) => jar.set(res, 'sg_session', 'abc'), publicUrl),
      ...headersOf((jar, res) => jar.set(res, 'sg_bb', 'binding', { maxAgeSeconds: 60 }), publicUrl),
      ...headersOf((jar, res) => jar.clear(res, 'sg_session'), publicUrl),
    ];
    assert.equal(written.length, 3);
    for (const header of written) {
      const attributes = header.split(';').slice(1).map((attribute) => attribute.trim().toLowerCase());
      assert.ok(attributes.includes('httponly'), `${publicUrl}: ${header}`);
      assert.ok(attributes.includes('samesite=lax'), `${publicUrl}: ${header}`);
    }
  }
});
