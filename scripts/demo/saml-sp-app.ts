import express from 'express';
import type { Server } from 'node:http';
import { SAML } from '@node-saml/node-saml';
import { html } from '../../src/http/html.ts';
import { demoPage, valuesTable } from './page.ts';
import { listenOnLoopback } from './listen.ts';

export interface DemoSpKeys {
  keyPem: string;
  certPem: string;
}

/** A sample SAML service provider (node-saml): a sign-in link and a page listing the received attributes. */
export function demoSamlSp(options: { idpUrl: string; spUrl: string; keys: DemoSpKeys; idpCertificates: string[] }): { metadataXml: string; start(port: number): Promise<Server> } {
  const saml = new SAML({
    callbackUrl: `${options.spUrl}/acs`,
    entryPoint: `${options.idpUrl}/saml/sso`,
    issuer: `${options.spUrl}/metadata`,
    audience: `${options.spUrl}/metadata`,
    idpIssuer: `${options.idpUrl}/saml/metadata`,
    idpCert: options.idpCertificates,
    privateKey: options.keys.keyPem,
    publicCert: options.keys.certPem,
    signatureAlgorithm: 'sha256',
    digestAlgorithm: 'sha256',
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: true,
    identifierFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    // node-saml asks for exactly PasswordProtectedTransport by default, which a sign-in with a second
    // factor does not match: asking for no context lets the application's policy in Stepgate decide.
    disableRequestedAuthnContext: true,
  });
  const app = express();
  app.use(express.urlencoded({ extended: false, limit: '512kb' }));
  app.get('/', (_req, res) => {
    res.type('html').send(demoPage('Demo SAML app', html`<p>This sample service provider signs you in through Stepgate with SAML 2.0.</p><p><a class="button" href="/login">Sign in with Stepgate (SAML)</a></p>`));
  });
  app.get('/login', async (_req, res) => {
    res.redirect(await saml.getAuthorizeUrlAsync('', undefined, {}));
  });
  app.post('/acs', async (req, res) => {
    try {
      const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: String(req.body.SAMLResponse ?? '') });
      const { getAssertionXml, getAssertion, getSamlResponseXml, ...shown } = profile ?? {};
      res.type('html').send(demoPage('Demo SAML app: signed in', html`<p>Stepgate sent this signed assertion:</p>${valuesTable(shown)}<p><a href="/">Back</a></p>`));
    } catch (error) {
      res.status(400).type('html').send(demoPage('Demo SAML app: refused', html`<p>The response was refused: ${(error as Error).message}</p>`));
    }
  });
  app.get('/metadata', (_req, res) => {
    res.type('application/samlmetadata+xml').send(saml.generateServiceProviderMetadata(null, options.keys.certPem));
  });
  return {
    metadataXml: saml.generateServiceProviderMetadata(null, options.keys.certPem),
    start: (port) => listenOnLoopback(app, port, 'the SAML sample app'),
  };
}
