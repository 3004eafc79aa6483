import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import { createPrivateKey } from 'node:crypto';
import { SAML, ValidateInResponseTo, type Profile, type SamlConfig } from '@node-saml/node-saml';
import { signSamlPost } from '@node-saml/node-saml/lib/saml-post-signing.js';
import type { Booted } from './boot.ts';
import { parseForms, type Page, type TestBrowser } from './browser.ts';
import { createSpRegistry, type SpRegistrationOptions } from '../../src/saml/sp-registry.ts';
import { certificateBody, type IdpSigner } from '../../src/saml/idp-identity.ts';

const run = promisify(execFile);

export interface TestSpOptions {
  /** Short label: the entityID is https://<name>.sp.test/metadata. */
  name: string;
  /** The SP signs its AuthnRequests and LogoutRequests (metadata AuthnRequestsSigned="true"). Default true. */
  signRequests?: boolean;
  /** The SP publishes a use="encryption" certificate and can decrypt. Default false. */
  encryption?: boolean;
  /** The EncryptionMethod algorithms its metadata lists instead of node-saml's (what it says it can decrypt). */
  encryptionMethods?: string[];
  /** AuthnRequest binding. Default redirect. */
  binding?: 'redirect' | 'post';
  /** NameIDFormat sent in the NameIDPolicy and listed in metadata; null: none. */
  identifierFormat?: string | null;
  /** What node-saml insists on when validating responses. */
  wantAssertionsSigned?: boolean;
  wantAuthnResponseSigned?: boolean;
  /** Also list an HTTP-Redirect SingleLogoutService (node-saml only writes HTTP-POST). */
  redirectSlo?: boolean;
  /** List no SingleLogoutService at all. */
  noSlo?: boolean;
  register?: SpRegistrationOptions;
}

/**
 * An independent SAML SP for the tests, built on @node-saml/node-saml with its own RSA key and
 * certificate made by openssl in a temp directory, and registered through Stepgate's SpRegistry.
 * Its ACS/SLO URLs are never contacted: tests read the POST form or redirect Stepgate answers with.
 */
export class TestSp {
  readonly entityId: string;
  readonly acsUrl: string;
  readonly sloUrl: string;
  readonly keyPem: string;
  readonly certPem: string;
  readonly idpCertPems: string[];
  readonly metadataXml: string;
  readonly options: TestSpOptions;
  readonly #idp: Booted;
  /** Shared by every client of this SP, so InResponseTo checks see the IDs of requests it sent. */
  readonly #cache = new Map<string, string>();

  private constructor(idp: Booted, options: TestSpOptions, keyPem: string, certPem: string, idpCertPems: string[]) {
    this.#idp = idp;
    this.options = options;
    this.entityId = `https://${options.name}.sp.test/metadata`;
    this.acsUrl = `https://${options.name}.sp.test/acs`;
    this.sloUrl = `https://${options.name}.sp.test/slo`;
    this.keyPem = keyPem;
    this.certPem = certPem;
    this.idpCertPems = idpCertPems;
    let metadata = this.client().generateServiceProviderMetadata(options.encryption ? certPem : null, options.signRequests === false ? null : certPem);
    if (options.encryptionMethods) {
      const listed = options.encryptionMethods.map((algorithm) => `<EncryptionMethod Algorithm="${algorithm}"/>`).join('');
      metadata = metadata.replace(/(<EncryptionMethod\b[^>]*\/>\s*)+/, listed);
    }
    if (options.noSlo) metadata = metadata.replace(/<SingleLogoutService\b[^>]*\/>/g, '');
    if (options.redirectSlo) {
      metadata = metadata.replace('<SingleLogoutService', `<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${this.sloUrl}"/><SingleLogoutService`);
    }
    this.metadataXml = metadata;
  }

  static async create(idp: Booted, options: TestSpOptions): Promise<TestSp> {
    const dir = await mkdtemp(join(tmpdir(), 'stepgate-sp-'));
    try {
      await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'sp.key'), '-out', join(dir, 'sp.pem'), '-days', '365', '-subj', `/CN=${options.name}.sp.test`]);
      const [keyPem, certPem] = await Promise.all([readFile(join(dir, 'sp.key'), 'utf8'), readFile(join(dir, 'sp.pem'), 'utf8')]);
      const sp = new TestSp(idp, options, keyPem, certPem, await idpCertificates(idp.url));
      await createSpRegistry(idp.services.store, idp.services.clock).add(sp.metadataXml, { name: options.name, ...options.register });
      return sp;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** A node-saml instance for this SP; `overrides` vary one request (ForceAuthn, IsPassive, authnContext ...). */
  client(overrides: Partial<SamlConfig> = {}): SAML {
    const signs = this.options.signRequests !== false;
    const cache = this.#cache;
    return new SAML({
      callbackUrl: this.acsUrl,
      entryPoint: `${this.#idp.url}/saml/sso`,
      logoutUrl: `${this.#idp.url}/saml/slo`,
      logoutCallbackUrl: this.sloUrl,
      issuer: this.entityId,
      audience: this.entityId,
      idpIssuer: `${this.#idp.url}/saml/metadata`,
      idpCert: this.idpCertPems,
      ...(signs ? { privateKey: this.keyPem, publicCert: this.certPem } : {}),
      ...(this.options.encryption ? { decryptionPvk: this.keyPem } : {}),
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
      wantAssertionsSigned: this.options.wantAssertionsSigned ?? false,
      wantAuthnResponseSigned: this.options.wantAuthnResponseSigned ?? true,
      validateInResponseTo: ValidateInResponseTo.ifPresent,
      identifierFormat: this.options.identifierFormat === undefined ? 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' : this.options.identifierFormat,
      // node-saml deflates POST messages unless told not to; saml-bindings §3.5.4 says POST carries plain base64.
      ...(this.options.binding === 'post' ? { authnRequestBinding: 'HTTP-POST', skipRequestCompression: true } : {}),
      cacheProvider: {
        saveAsync: async (key, value) => (cache.set(key, value), { value, createdAt: Date.now() }),
        getAsync: async (key) => cache.get(key) ?? null,
        removeAsync: async (key) => (key !== null && cache.delete(key) ? key : null),
      },
      ...overrides,
    });
  }

  /** The SP's AuthnRequest as the browser would carry it: a Redirect URL, or a POST target and fields. */
  async authnRequest(relayState = '', overrides: Partial<SamlConfig> = {}): Promise<{ url: string; fields?: Record<string, string> }> {
    const saml = this.client(overrides);
    if (this.options.binding === 'post') {
      const fields = (await saml.getAuthorizeMessageAsync(relayState)) as Record<string, string>;
      return { url: `${this.#idp.url}/saml/sso`, fields };
    }
    return { url: await saml.getAuthorizeUrlAsync(relayState, undefined, {}) };
  }

  /**
   * node-saml's verdict on a POST-binding SAMLResponse (throws when it refuses it), after xmlsec1 has
   * independently verified every signature it can see (an encrypted assertion's own signature is
   * left to node-saml, which checks it after decrypting).
   */
  async validate(samlResponse: string): ReturnType<SAML['validatePostResponseAsync']> {
    await assertXmlsecVerifies(Buffer.from(samlResponse, 'base64').toString('utf8'), this.idpCertPems[0]!);
    return this.client().validatePostResponseAsync({ SAMLResponse: samlResponse });
  }

  /** A LogoutRequest over HTTP-Redirect (signed in the query when the SP signs). */
  logoutUrl(profile: Profile, relayState = ''): Promise<string> {
    return this.client().getLogoutUrlAsync(profile, relayState, {});
  }

  /** A LogoutRequest for the HTTP-POST binding, enveloped-signed when the SP signs. */
  async logoutPostFields(profile: Profile, relayState?: string): Promise<Record<string, string>> {
    let xml = await this.client()._generateLogoutRequest(profile);
    if (this.options.signRequests !== false) {
      xml = signSamlPost(xml, '/*[local-name(.)="LogoutRequest"]', { privateKey: this.keyPem, publicCert: this.certPem, signatureAlgorithm: 'sha256', digestAlgorithm: 'sha256' });
    }
    return { SAMLRequest: Buffer.from(xml).toString('base64'), ...(relayState ? { RelayState: relayState } : {}) };
  }

  /**
   * The LogoutRequest Stepgate sent this SP, as the browser carries it (a 303 to the SLO URL, or an
   * HTTP-POST form), checked by node-saml: signature (query or enveloped; xmlsec1 too on POST),
   * Issuer, NotOnOrAfter. Throws when the page is neither or anything does not verify.
   */
  async receiveLogoutRequest(page: Page): Promise<ReceivedLogoutRequest> {
    const location = page.headers.get('location');
    if (page.status === 303 && location?.startsWith(`${this.sloUrl}?`)) {
      const url = new URL(location);
      const query = Object.fromEntries(url.searchParams);
      // node-saml accepts a Redirect message without a signature; Stepgate must always sign.
      if (!query.Signature || query.SigAlg !== RSA_SHA256) throw new Error(`unsigned LogoutRequest: ${location}`);
      const { profile } = await this.client().validateRedirectAsync(query, url.search.slice(1));
      return { binding: 'redirect', profile: profile!, relayState: query.RelayState ?? '', xml: redirectMessageXml(location, 'SAMLRequest') };
    }
    const form = parseForms(page.body, page.url).find((candidate) => 'SAMLRequest' in candidate.fields);
    if (!form || form.action !== this.sloUrl) throw new Error(`no LogoutRequest for ${this.entityId} on ${page.url} (status ${page.status}, location ${location}):\n${page.body.slice(0, 600)}`);
    const xml = Buffer.from(form.fields.SAMLRequest!, 'base64').toString('utf8');
    const checked = await xmlsecVerify(xml, this.idpCertPems[0]!, { idAttributes: ['urn:oasis:names:tc:SAML:2.0:protocol:LogoutRequest'] });
    if (!checked.ok) throw new Error(`xmlsec1 refused the LogoutRequest:\n${checked.output}`);
    const { profile } = await this.client().validatePostRequestAsync({ SAMLRequest: form.fields.SAMLRequest! });
    return { binding: 'post', profile: profile!, relayState: form.fields.RelayState ?? '', xml };
  }

  /**
   * This SP's LogoutResponse (node-saml) to a received LogoutRequest, as the browser carries it back:
   * a signed Redirect URL, or POST fields with an enveloped signature. Options make it wrong on purpose.
   */
  async logoutResponse(
    request: Profile,
    relayState: string,
    options: { binding?: 'redirect' | 'post'; status?: { top: string; second?: string }; inResponseTo?: string; signWith?: { keyPem: string; certPem: string } } = {},
  ): Promise<{ url: string; fields?: Record<string, string> }> {
    const key = options.signWith ?? { keyPem: this.keyPem, certPem: this.certPem };
    const saml = this.client({ skipRequestCompression: false, privateKey: key.keyPem, publicCert: key.certPem });
    let xml = saml._generateLogoutResponse({ ...request, ID: options.inResponseTo ?? request.ID }, true);
    if (options.status) {
      const second = options.status.second ? `<samlp:StatusCode Value="${options.status.second}"/>` : '';
      xml = xml.replace(/<samlp:Status>[\s\S]*<\/samlp:Status>/, `<samlp:Status><samlp:StatusCode Value="${options.status.top}">${second}</samlp:StatusCode></samlp:Status>`);
    }
    if (options.binding === 'post') {
      const signed = signSamlPost(xml, '/*[local-name(.)="LogoutResponse"]', { privateKey: key.keyPem, publicCert: key.certPem, signatureAlgorithm: 'sha256', digestAlgorithm: 'sha256' });
      return { url: `${this.#idp.url}/saml/slo`, fields: { SAMLResponse: Buffer.from(signed).toString('base64'), RelayState: relayState } };
    }
    return { url: await saml._requestToUrlAsync(null, xml, 'logout', saml._getAdditionalParams(relayState, 'logout')) };
  }
}

export interface ReceivedLogoutRequest {
  binding: 'redirect' | 'post';
  /** node-saml's reading: ID, issuer, nameID, nameIDFormat, sessionIndex. */
  profile: Profile;
  relayState: string;
  xml: string;
}

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

/** Carries a message to Stepgate as the browser would: a GET of the Redirect URL, or a POST of the form. */
export function sendToIdp(browser: TestBrowser, message: { url: string; fields?: Record<string, string> }, options: { followRedirects?: boolean } = {}): Promise<Page> {
  return message.fields ? browser.request(message.url, { method: 'POST', body: new URLSearchParams(message.fields), ...options }) : browser.get(message.url, options);
}

/** The signing certificates from Stepgate's published metadata, as PEM. */
export async function idpCertificates(idpUrl: string): Promise<string[]> {
  const xml = await (await fetch(`${idpUrl}/saml/metadata`)).text();
  return [...xml.matchAll(/<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/g)].map((match) => toPem(match[1]!));
}

export function toPem(body: string): string {
  return `-----BEGIN CERTIFICATE-----\n${body.replace(/\s+/g, '').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** The XML inside a Redirect-binding URL's SAMLRequest/SAMLResponse parameter. */
export function redirectMessageXml(url: string, param: 'SAMLRequest' | 'SAMLResponse'): string {
  return inflateRawSync(Buffer.from(new URL(url).searchParams.get(param)!, 'base64')).toString('utf8');
}

const ID_ATTRIBUTES = ['urn:oasis:names:tc:SAML:2.0:protocol:Response', 'urn:oasis:names:tc:SAML:2.0:protocol:LogoutResponse', 'urn:oasis:names:tc:SAML:2.0:assertion:Assertion'];

/** Checks the root's signature and a plain assertion's signature with xmlsec1; a message with neither fails. */
export async function assertXmlsecVerifies(xml: string, certPem: string): Promise<void> {
  const rootSigned = /^(<\?xml[^>]*>)?<samlp:(Logout)?Response\b[^>]*>\s*<saml:Issuer\b[^>]*>[^<]*<\/saml:Issuer>\s*<ds:Signature[ >]/.test(xml);
  const assertionSigned = /<saml:Assertion\b[^>]*>\s*<saml:Issuer\b[^>]*>[^<]*<\/saml:Issuer>\s*<ds:Signature[ >]/.test(xml);
  if (!rootSigned && !assertionSigned && !/<saml:EncryptedAssertion/.test(xml)) throw new Error('the message carries no signature xmlsec1 could check');
  for (const [signed, nodeXpath] of [[rootSigned, "/*/*[local-name()='Signature']"], [assertionSigned, "//*[local-name()='Assertion']/*[local-name()='Signature']"]] as const) {
    if (!signed) continue;
    const result = await xmlsecVerify(xml, certPem, { nodeXpath, idAttributes: ID_ATTRIBUTES });
    if (!result.ok) throw new Error(`xmlsec1 refused the signature at ${nodeXpath}:\n${result.output}`);
  }
}

/** Runs xmlsec1 on a document: verifies the first ds:Signature (or the one `nodeXpath` selects) with `certPem`. */
export async function xmlsecVerify(xml: string, certPem: string, options: { nodeXpath?: string; idAttributes?: string[] } = {}): Promise<{ ok: boolean; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-xmlsec-'));
  try {
    await writeFile(join(dir, 'doc.xml'), xml);
    await writeFile(join(dir, 'cert.pem'), certPem);
    const ids = options.idAttributes ?? ['urn:oasis:names:tc:SAML:2.0:protocol:Response', 'urn:oasis:names:tc:SAML:2.0:assertion:Assertion'];
    const args = ['--verify', '--pubkey-cert-pem', join(dir, 'cert.pem'), ...ids.flatMap((id) => [`--id-attr:ID`, id]), ...(options.nodeXpath ? ['--node-xpath', options.nodeXpath] : []), join(dir, 'doc.xml')];
    try {
      const { stdout, stderr } = await run('xmlsec1', args);
      return { ok: true, output: stdout + stderr };
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string };
      return { ok: false, output: (failed.stdout ?? '') + (failed.stderr ?? '') };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Sends the SP's AuthnRequest with this browser and follows Stepgate's redirects (to a sign-in page or the POST page). */
export async function sendAuthnRequest(browser: TestBrowser, sp: TestSp, relayState = '', overrides: Partial<SamlConfig> = {}): Promise<Page> {
  const request = await sp.authnRequest(relayState, overrides);
  return request.fields ? browser.request(request.url, { method: 'POST', body: new URLSearchParams(request.fields) }) : browser.get(request.url);
}

/** The HTTP-POST binding form on a Stepgate page: where it posts and what. */
export function samlPostForm(page: Page): { action: string; fields: Record<string, string> } {
  const form = parseForms(page.body, page.url).find((candidate) => 'SAMLResponse' in candidate.fields);
  if (!form) throw new Error(`no SAML POST form on ${page.url} (status ${page.status}):\n${page.body.slice(0, 600)}`);
  return { action: form.action, fields: form.fields };
}

export function isPasswordPage(page: Page): boolean {
  return page.status === 200 && /name="password"/.test(page.body);
}

/** An IdP signer with a fresh RSA key and self-signed certificate (openssl), for tests that sign without a running IdP. */
export async function createTestSigner(): Promise<{ signer: IdpSigner; certificatePem: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-signer-'));
  try {
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=idp.test']);
    const certificatePem = await readFile(join(dir, 'c.pem'), 'utf8');
    return { certificatePem, signer: { keyId: 'k', privateKey: createPrivateKey(await readFile(join(dir, 'k.pem'), 'utf8')), certificateBody: certificateBody(certificatePem) } };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
