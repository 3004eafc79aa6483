import type { LoginRequest } from '../../src/core/types.ts';
import type { Booted } from './boot.ts';
import type { Page, TestBrowser } from './browser.ts';

/** A sign-in request as a protocol would make it, for tests that drive the interaction directly (finisher 'test'). */
export function request(overrides: Partial<LoginRequest> = {}): LoginRequest {
  return { protocol: 'oidc', rpId: 'test-app', rpName: 'Test App', rp: { allowPasswordChange: true }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false, ...overrides };
}

/**
 * A new password sign-in in `browser` from `ip` (behind the trusted proxy): its SSO session cookie is
 * dropped, so the password is asked; the page the password form led to.
 */
export async function passwordSignInFrom(app: Booted, browser: TestBrowser, username: string, password: string, ip: string): Promise<Page> {
  browser.cookies.get(new URL(app.url).host)?.delete('sg_session');
  const tx = await app.services.interaction.deps.transactions.create(request());
  const headers = { 'x-forwarded-for': ip };
  return browser.submit(await browser.get(`${app.url}/login/${tx.id}`, { headers }), { username, password }, undefined, headers);
}

/** Starts the sign-in `loginRequest` asks for and opens its first page in `browser`. */
export async function startSignIn(app: Booted, browser: TestBrowser, loginRequest: LoginRequest = request()): Promise<{ txId: string; page: Page }> {
  const tx = await app.services.interaction.deps.transactions.create(loginRequest);
  return { txId: tx.id, page: await browser.get(`${app.url}/login/${tx.id}`) };
}
