import { test } from 'node:test';
import assert from 'node:assert/strict';
import { warnIfPlainHttp } from '../../src/config/plain-http-warning.ts';
import type { Config } from '../../src/config/schema.ts';

/** The events warnIfPlainHttp logs for this public URL. */
function warned(publicUrl: string): string[] {
  const events: string[] = [];
  warnIfPlainHttp({ server: { publicUrl } } as Config, { warn: (fields) => void events.push(String(fields.event)) });
  return events;
}

test('a plain-http public URL on a name that leaves the machine is warned of, also one that merely ends in "localhost"', () => {
  for (const publicUrl of ['http://sso.example.org', 'http://sso-localhost', 'http://localhost.example.org', 'http://10.0.0.1:8080', 'http://[::ffff:10.0.0.1]', 'http://[2001:db8::1]']) {
    assert.deepEqual(warned(publicUrl), ['config.public-url-plain-http'], publicUrl);
  }
});

test('localhost, its subdomains and every loopback spelling are a trial on this machine: no warning', () => {
  for (const publicUrl of ['http://localhost:8080', 'http://idp.localhost', 'http://localhost.', 'http://127.0.0.1:8080', 'http://127.1.2.3', 'http://[::1]:8080', 'http://[::ffff:127.0.0.1]', 'https://sso.example.org']) {
    assert.deepEqual(warned(publicUrl), [], publicUrl);
  }
});
