import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { capture, fixtureLdif } from '../helpers/ldap-directory.ts';
import { LdapDirectory } from '../../src/directory/ldap-directory.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';

/**
 * Active Directory mode reads the domain's maxPwdAge (on the domain root) after a user's successful
 * bind, for accounts without msDS-UserPasswordExpiryTimeComputed. A failed read must not switch that
 * fallback off until a restart, silently: it is logged, and read again later. Against a real slapd
 * (which has no maxPwdAge, so a successful read finds none) behind a relay that can make the
 * server fail exactly that read.
 */

const DOMAIN_ROOT = 'dc=example,dc=org';
const SEARCH_REQUEST = 0x63;
const SEARCH_RESULT_DONE = 0x65;
/** After a failed read, sign-ins go without maxPwdAge this long before it is read again (ldap-directory.ts). */
const MAX_PWD_AGE_RETRY_MS = 60_000;
/** LDAP resultCode `other`: a server error that no retry on another connection would cure. */
const OTHER = 80;

/** A BER length at `offset`: [value, bytes the length itself takes], or undefined when not all received yet. */
function berLength(buf: Buffer, offset: number): [number, number] | undefined {
  if (offset >= buf.length) return undefined;
  const first = buf[offset]!;
  if (first < 0x80) return [first, 1];
  const octets = first & 0x7f;
  if (offset + octets >= buf.length) return undefined;
  let length = 0;
  for (let k = 1; k <= octets; k++) length = length * 256 + buf[offset + k]!;
  return [length, 1 + octets];
}

/** The complete LDAPMessages at the front of a TCP stream, and the incomplete rest. */
function splitMessages(buf: Buffer): [Buffer[], Buffer] {
  const messages: Buffer[] = [];
  for (;;) {
    const length = buf.length >= 2 ? berLength(buf, 1) : undefined;
    if (!length || buf.length < 1 + length[1] + length[0]) return [messages, buf];
    messages.push(buf.subarray(0, 1 + length[1] + length[0]));
    buf = buf.subarray(1 + length[1] + length[0]);
  }
}

/** A SearchRequest's messageID TLV, base DN and scope; undefined for other operations. */
function searchOf(message: Buffer): { messageId: Buffer; base: string; scope: number } | undefined {
  const idStart = 1 + berLength(message, 1)![1];
  const opStart = idStart + 1 + berLength(message, idStart + 1)![1] + berLength(message, idStart + 1)![0];
  if (message[opStart] !== SEARCH_REQUEST) return undefined;
  const baseStart = opStart + 1 + berLength(message, opStart + 1)![1];
  const [baseLength, baseLengthBytes] = berLength(message, baseStart + 1)!;
  const base = message.subarray(baseStart + 1 + baseLengthBytes, baseStart + 1 + baseLengthBytes + baseLength).toString('utf8');
  const scopeStart = baseStart + 1 + baseLengthBytes + baseLength;
  return { messageId: message.subarray(idStart, opStart), base, scope: message[scopeStart + 2]! };
}

/** SearchResultDone with this result code, empty matchedDN and diagnosticMessage. */
function searchDone(messageId: Buffer, resultCode: number): Buffer {
  const body = Buffer.concat([messageId, Buffer.from([SEARCH_RESULT_DONE, 0x07, 0x0a, 0x01, resultCode, 0x04, 0x00, 0x04, 0x00])]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/** A loopback relay to slapd that counts base reads of the domain root and, while `failing`, answers them itself with `other`. */
class DomainRootRelay {
  failing = false;
  rootReads = 0;
  readonly #sockets = new Set<Socket>();
  readonly #server: Server;
  readonly url: Promise<string>;

  constructor(port: number) {
    this.#server = createServer((client) => {
      const server = connect(port, '127.0.0.1');
      let pending: Buffer = Buffer.alloc(0);
      client.on('data', (chunk: Buffer) => {
        const [messages, rest] = splitMessages(Buffer.concat([pending, chunk]));
        pending = rest;
        for (const message of messages) {
          const search = searchOf(message);
          if (search?.scope === 0 && search.base.toLowerCase() === DOMAIN_ROOT) {
            this.rootReads += 1;
            if (this.failing) {
              client.write(searchDone(search.messageId, OTHER));
              continue;
            }
          }
          server.write(message);
        }
      });
      server.on('data', (chunk: Buffer) => client.write(chunk));
      for (const [from, to] of [[client, server], [server, client]] as const) {
        this.#sockets.add(from);
        from.on('error', () => undefined).on('close', () => (this.#sockets.delete(from), to.destroy()));
      }
    });
    this.url = new Promise((resolve) => this.#server.listen(0, '127.0.0.1', () => resolve(`ldap://127.0.0.1:${(this.#server.address() as { port: number }).port}`)));
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

let slapd: SlapdHandle;
let relay: DomainRootRelay;

before(async () => {
  slapd = await startSlapd({ ldif: await fixtureLdif() });
  relay = new DomainRootRelay(slapd.port);
});

after(async () => {
  await relay?.close();
  await slapd?.stop();
});

test("AD mode: a failed read of the domain's maxPwdAge is logged and read again after a while, not given up until a restart; a successful one is kept", async () => {
  const config = ldapDirectorySchema.parse({
    kind: 'ldap',
    urls: [await relay.url],
    bind: { dn: slapd.serviceDn, password: slapd.servicePassword },
    users: { baseDn: `ou=people,${DOMAIN_ROOT}` },
    accountState: { flavour: 'active-directory' },
  });
  let now = 1_700_000_000_000;
  const { logger, lines } = capture();
  const directory = new LdapDirectory(config, { logger, now: () => now });
  const warnings = () => lines.filter((line) => line['event'] === 'ldap.maxPwdAge.unavailable');
  const signIn = async () => assert.equal((await directory.authenticate('alice', 'Passw0rd!alice')).ok, true, 'the sign-in itself goes on');
  try {
    relay.failing = true;
    await signIn();
    assert.equal(relay.rootReads, 1);
    assert.equal(warnings().length, 1, 'the failure is logged');
    assert.equal(warnings()[0]!['level'], 40, 'at warn');
    assert.equal(warnings()[0]!['dn'], DOMAIN_ROOT);
    assert.match(String(warnings()[0]!['error']), /LDAP 80/);

    now += MAX_PWD_AGE_RETRY_MS - 1;
    await signIn();
    assert.equal(relay.rootReads, 1, 'not read again at every sign-in while the directory fails it');
    assert.equal(warnings().length, 1);

    now += 1;
    await signIn();
    assert.equal(relay.rootReads, 2, 'read again once the retry time has passed');
    assert.equal(warnings().length, 2, 'each failed read is logged once');

    relay.failing = false;
    now += MAX_PWD_AGE_RETRY_MS;
    await signIn();
    assert.equal(relay.rootReads, 3, 'the read that works');
    assert.equal(warnings().length, 2);

    now += 24 * 3_600_000;
    await signIn();
    await signIn();
    assert.equal(relay.rootReads, 3, 'a successful read is kept');
  } finally {
    await directory.close();
  }
});
