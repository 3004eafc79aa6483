import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Request, Response } from 'express';
import { securityHeaders } from '../../src/http/security-headers.ts';

function headersFor(publicUrl: string): Map<string, string> {
  const headers = new Map<string, string>();
  const res = { setHeader: (name: string, value: string) => void headers.set(name.toLowerCase(), value) } as unknown as Response;
  let nextCalled = false;
  securityHeaders(publicUrl)({} as Request, res, () => void (nextCalled = true));
  assert.ok(nextCalled);
  return headers;
}

test('every response: no framing, no sniffing, a strict CSP; HSTS (a year, this host only) exactly when served over https', () => {
  const plain = headersFor('http://localhost:8080');
  assert.equal(plain.get('x-frame-options'), 'DENY');
  assert.equal(plain.get('x-content-type-options'), 'nosniff');
  assert.match(plain.get('content-security-policy')!, /frame-ancestors 'none'/);
  assert.equal(plain.has('strict-transport-security'), false, 'never on http: it would be ignored, and localhost must keep working');

  const secure = headersFor('https://idp.example.org');
  assert.equal(secure.get('strict-transport-security'), 'max-age=31536000');
});
