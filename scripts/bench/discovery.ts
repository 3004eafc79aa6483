/**
 * What the relying parties learn from the IdP before the load starts, fetched once as real RPs
 * would: OIDC discovery and JWKS, SAML IdP metadata (entityID, Redirect SSO location, certificates).
 */
import { DOMParser } from '@xmldom/xmldom';
import type { OidcSetup, SamlSetup } from './driver/protocol.ts';
import type { SeedResult } from './seed.ts';
import { CLIENT_REDIRECT_URI } from './seed.ts';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

async function get(url: string, accept: string): Promise<string> {
  const response = await fetch(url, { headers: { accept } });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return response.text();
}

/** Endpoints are published with the public host name; the driver connects to loopback and keeps the Host. */
export async function discoverOidc(idpUrl: string, client: SeedResult['client']): Promise<OidcSetup> {
  const discovery = JSON.parse(await get(`${idpUrl}/.well-known/openid-configuration`, 'application/json')) as Record<string, string>;
  const jwks = JSON.parse(await get(discovery.jwks_uri!, 'application/json')) as OidcSetup['jwks'];
  return {
    issuer: discovery.issuer!,
    authorizationEndpoint: discovery.authorization_endpoint!,
    tokenEndpoint: discovery.token_endpoint!,
    jwks,
    clientId: client.id,
    clientSecret: client.secret,
    idTokenAlg: client.idTokenAlg,
    redirectUri: CLIENT_REDIRECT_URI,
    scope: 'openid profile email',
    extraParams: {},
  };
}

export async function discoverSaml(idpUrl: string, seeded: SeedResult): Promise<SamlSetup> {
  const xml = await get(`${idpUrl}/saml/metadata`, 'application/samlmetadata+xml');
  const document = new DOMParser().parseFromString(xml, 'text/xml');
  const root = document.documentElement!;
  const descriptor = root.getElementsByTagNameNS(MD, 'IDPSSODescriptor')[0];
  if (!descriptor) throw new Error('IdP metadata has no IDPSSODescriptor');
  const sso = Array.from(descriptor.getElementsByTagNameNS(MD, 'SingleSignOnService')).find((element) => element.getAttribute('Binding') === REDIRECT);
  if (!sso) throw new Error('IdP metadata has no HTTP-Redirect SingleSignOnService');
  const certificates = Array.from(descriptor.getElementsByTagNameNS(MD, 'KeyDescriptor'))
    .filter((element) => element.getAttribute('use') !== 'encryption')
    .flatMap((element) => Array.from(element.getElementsByTagNameNS(DSIG, 'X509Certificate')))
    .map((element) => `-----BEGIN CERTIFICATE-----\n${(element.textContent ?? '').replace(/\s+/g, '').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`);
  if (certificates.length === 0) throw new Error('IdP metadata has no signing certificate');
  return {
    idpEntityId: root.getAttribute('entityID')!,
    ssoRedirectUrl: sso.getAttribute('Location')!,
    idpCertificates: [...new Set(certificates)],
    spEntityId: seeded.sp.entityId,
    acsUrl: seeded.sp.acsUrl,
    spPrivateKeyPem: seeded.sp.privateKeyPem,
  };
}
