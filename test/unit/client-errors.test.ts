import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { clientError, clientGone } from '../../src/http/client-errors.ts';

const request = (destroyed: boolean) => ({ socket: { destroyed } }) as unknown as IncomingMessage;
const errno = (message: string, code?: string) => Object.assign(new Error(message), { code });

test('a hang-up on a connection that is gone is the client\'s doing; the same code while the client is still there (an LDAP server, a JWKS host) is a fault', () => {
  for (const error of [errno('read ECONNRESET', 'ECONNRESET'), errno('aborted', 'ECONNRESET'), errno('write EPIPE', 'EPIPE'), errno('socket hang up', 'ECONNABORTED'), errno('aborted')]) {
    const gone = clientGone(error, request(true));
    assert.deepEqual([gone?.appError.code, gone?.status], ['BAD_REQUEST', 400], error.message);
    assert.equal(clientGone(error, request(false)), undefined, `${error.message}, client still connected`);
  }
  assert.equal(clientGone(errno('getaddrinfo ENOTFOUND x', 'ENOTFOUND'), request(true)), undefined);
});

test('an error with a 4xx status is the client\'s doing; 5xx and none are not', () => {
  const tooLarge = clientError(Object.assign(new Error('too large'), { status: 413 }));
  assert.deepEqual([tooLarge?.appError.code, tooLarge?.status], ['REQUEST_TOO_LARGE', 413]);
  assert.equal(clientError(Object.assign(new Error('x'), { statusCode: 400 }))?.status, 400);
  assert.equal(clientError(Object.assign(new Error('x'), { status: 500 })), undefined);
  assert.equal(clientError(new Error('x')), undefined);
});
