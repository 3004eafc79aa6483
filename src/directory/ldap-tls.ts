/**
 * TLS to the directory: the options for a server with the configured CA, and the words for what
 * goes wrong with it (a CA file without a certificate, an expired or misnamed server certificate,
 * a server that wants an encrypted connection), each with its usual fix.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { connect as connectTls, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { Client } from 'ldapts';
import type { LdapDirectoryConfig } from './ldap-config.ts';
import { destroy, readRootDse, type Connection } from './ldap-connection.ts';
import { LdapUnavailableError, describeError, isLdapResult } from './ldap-errors.ts';

const CONFIDENTIALITY_REQUIRED = 13;

/** A server's refusal on `connection`; one that wants an encrypted connection, on a plain one, with the setting that gives it. */
export function describeRefusal(err: unknown, connection: Pick<Connection, 'secure'>): string {
  const described = describeError(err);
  if (!isLdapResult(err) || err.code !== CONFIDENTIALITY_REQUIRED || connection.secure) return described;
  return `${described} (the server accepts it only over an encrypted connection: use ldaps:// or "startTls": true)`;
}

/**
 * The CA certificate(s) to trust. Node takes PEM certificates only and silently ignores anything else,
 * which then reads as an untrusted server certificate: a file without one is named instead.
 */
async function readCaFile(caFile: string): Promise<Buffer> {
  const pem = await readFile(caFile).catch((err: unknown) => {
    throw new LdapUnavailableError(`cannot read tls.caFile ${caFile}: ${describeError(err)}`);
  });
  const text = pem.toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) return pem;
  const found = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text) ? 'a private key, not a certificate' : 'no PEM certificate';
  throw new LdapUnavailableError(`tls.caFile ${caFile} holds ${found}: give the CA certificate that issued the server's certificate (PEM, "-----BEGIN CERTIFICATE-----")`);
}

/** The TLS options for each server's host name; the CA file is read at the first connection and kept once read. */
export function tlsOptionsFor(tls: LdapDirectoryConfig['tls']): (hostname: string) => Promise<ConnectionOptions> {
  let caRead: Promise<Buffer | undefined> | undefined;
  return (hostname) => {
    const caFile = tls.caFile;
    caRead ??= caFile
      ? readCaFile(caFile).catch((err: unknown) => {
          caRead = undefined; // a fixed file is picked up on the next attempt
          throw err;
        })
      : Promise.resolve(undefined);
    return caRead.then((ca) => ({
      ca,
      rejectUnauthorized: tls.rejectUnauthorized,
      host: hostname,
      // RFC 6066 forbids SNI with an IP address
      ...(isIP(hostname) ? {} : { servername: hostname }),
    }));
  };
}

/** The names a certificate is for, as Node's wrong-host error carries it (it lists only the IP addresses for an IP). */
function certificateNames(err: unknown): string {
  const cert = (err as { cert?: { subjectaltname?: string; subject?: { CN?: string | string[] } } }).cert;
  if (cert?.subjectaltname) return cert.subjectaltname;
  const cn = [cert?.subject?.CN ?? []].flat();
  return cn.length ? cn.map((name) => `CN=${name}`).join(', ') : 'no name';
}

type Timeouts = Pick<LdapDirectoryConfig, 'connectTimeoutMs' | 'searchTimeoutMs'>;

/** The failure with a hint at its usual fix. */
export async function explainConnectFailure(url: string, err: unknown, tls: ConnectionOptions | undefined, timeouts: Timeouts): Promise<string> {
  const code = String((err as { code?: unknown }).code);
  if (code === 'CERT_HAS_EXPIRED' && tls) {
    const end = await certificateEnd(url, tls, timeouts);
    return `${describeError(err)} (the server's certificate expired${end ? ` on ${end}` : ''}: renew it on the server)`;
  }
  // an LDAP answer can only come from the StartTLS request here: the root DSE read takes refusals as success
  if (isLdapResult(err)) return `the server does not offer StartTLS (${describeError(err)}): use ldaps:// or enable TLS on the server`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return `${code}: the server's certificate is for ${certificateNames(err)}, not ${host}: put a name it carries in urls, or give the server a certificate for ${host}`;
  }
  const hint = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code) ? ' (check tls.caFile and the server name)' : '';
  return `${describeError(err)}${hint}`;
}

/**
 * When the certificate `url` presents ends, read on a second connection that checks no certificate
 * and sends nothing but the handshake and a root DSE read or StartTLS, never a password.
 */
async function certificateEnd(url: string, tls: ConnectionOptions, { connectTimeoutMs, searchTimeoutMs }: Timeouts): Promise<string | undefined> {
  let socket: TLSSocket | undefined;
  const capture = ((...args: Parameters<typeof connectTls>) => (socket = connectTls(...args))) as typeof connectTls;
  const unchecked = { ...tls, rejectUnauthorized: false };
  const ldaps = url.startsWith('ldaps:');
  const client = new Client({ url, connectTimeout: connectTimeoutMs, timeout: searchTimeoutMs, tlsOptions: ldaps ? unchecked : undefined, createSecureConnection: capture });
  try {
    await (ldaps ? readRootDse(client) : client.startTLS(unchecked));
    const end = new Date(socket?.getPeerCertificate().valid_to ?? '');
    return Number.isNaN(end.getTime()) ? undefined : end.toISOString();
  } catch {
    return undefined;
  } finally {
    await destroy(client);
  }
}
