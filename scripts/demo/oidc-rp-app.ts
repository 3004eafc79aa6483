import express from 'express';
import type { Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { html } from '../../src/http/html.ts';
import { demoPage, valuesTable } from './page.ts';
import { listenOnLoopback } from './listen.ts';

/** A sample OIDC client (openid-client): code flow with PKCE, then a page listing the id_token claims. */
export async function demoOidcRp(options: { issuer: string; rpUrl: string; clientId: string; clientSecret: string }): Promise<{ start(port: number): Promise<Server> }> {
  const config = await oidc.discovery(new URL(options.issuer), options.clientId, options.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
  const pending = new Map<string, { verifier: string; state: string }>();
  const app = express();
  app.get('/', (_req, res) => {
    res.type('html').send(demoPage('Demo OIDC app', html`<p>This sample client signs you in through Stepgate with OpenID Connect (code flow + PKCE).</p><p><a class="button" href="/login">Sign in with Stepgate (OIDC)</a></p>`));
  });
  app.get('/login', async (_req, res) => {
    const key = randomBytes(16).toString('hex');
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    pending.set(key, { verifier, state });
    res.cookie('demo_rp', key, { httpOnly: true, sameSite: 'lax' });
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: `${options.rpUrl}/callback`, scope: 'openid profile email groups', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state });
    res.redirect(url.href);
  });
  app.get('/callback', async (req, res) => {
    const key = /demo_rp=([0-9a-f]+)/.exec(req.headers.cookie ?? '')?.[1];
    const login = key ? pending.get(key) : undefined;
    if (!login) return void res.status(400).type('html').send(demoPage('Demo OIDC app', html`<p>No sign-in in progress. <a href="/">Start again</a></p>`));
    pending.delete(key!);
    try {
      const tokens = await oidc.authorizationCodeGrant(config, new URL(req.originalUrl, options.rpUrl), { pkceCodeVerifier: login.verifier, expectedState: login.state });
      res.type('html').send(demoPage('Demo OIDC app: signed in', html`<p>The verified id_token carries these claims:</p>${valuesTable(tokens.claims() ?? {})}<p><a href="/">Back</a></p>`));
    } catch (error) {
      res.status(400).type('html').send(demoPage('Demo OIDC app: refused', html`<p>The sign-in was refused: ${(error as Error).message}</p>`));
    }
  });
  return { start: (port) => listenOnLoopback(app, port, 'the OIDC sample app') };
}
