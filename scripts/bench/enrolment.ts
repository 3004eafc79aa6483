/**
 * An enrollment the IdP under test writes itself, for the kill -9 check (every other bench user's
 * enrollment was seeded before the IdP started): a directory user without TOTP signs in, gets the
 * setup page, adds the key as an authenticator app would (the key read from the page, the code from
 * the driver's own RFC 6238), confirms it and finishes the sign-in. After the restart the same key
 * must sign the user in.
 */
import { BenchError, encodeForm, forms, type Jar, type Reply } from './driver/http.ts';
import { oidcSignInWith, type OidcContext } from './driver/oidc.ts';
import { submitCode } from './driver/sign-in.ts';
import { base32Decode, hotp, timeStep } from './driver/totp.ts';

/** What the driver's "authenticator app" holds: the key, and the last time step it gave a code for (each is accepted once). */
export interface EnrolledKey {
  secret: string;
  step: number;
}

/** The key as the setup page shows it for typing in (views/mfa/totp-enroll.ts): base32 in groups of four. */
const SHOWN_KEY = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/;

/** After the confirmation: the page with the new backup codes and its "Continue" form, or already the way out of the IdP. */
async function pastBackupCodes(ctx: OidcContext, jar: Jar, reply: Reply): Promise<Reply> {
  if (reply.status !== 200) return reply;
  const next = forms(reply).find((form) => new URL(form.action).pathname.endsWith('/continue'));
  if (!next) throw new BenchError('enrolment', `expected the backup codes page, got HTTP ${reply.status}: ${reply.body.replace(/\s+/g, ' ').slice(0, 200)}`);
  return ctx.http.follow('POST', next.action, { jar, body: encodeForm(next.fields) });
}

/** `user` (without TOTP) signs in through the setup page; returns the key the IdP activated. */
export async function enrolThroughSetupPage(ctx: OidcContext, user: number): Promise<EnrolledKey> {
  let key: EnrolledKey | undefined;
  await oidcSignInWith(ctx, user, async (setupPage, jar) => {
    const shown = SHOWN_KEY.exec(setupPage.body)?.[1];
    if (!shown) throw new BenchError('enrolment', `expected the TOTP setup page for user${user}, got HTTP ${setupPage.status}: ${setupPage.body.replace(/\s+/g, ' ').slice(0, 200)}`);
    key = { secret: shown.replace(/ /g, ''), step: timeStep(Date.now()) };
    const confirmed = await submitCode(ctx.http, jar, setupPage, hotp(base32Decode(key.secret), key.step), 'setup page');
    return pastBackupCodes(ctx, jar, confirmed);
  });
  return key!;
}

/** A sign-in of `user` with a code of the enrolled key, at a time step the key has not used yet. */
export async function signInWithKey(ctx: OidcContext, user: number, key: EnrolledKey): Promise<void> {
  const step = Math.max(key.step + 1, timeStep(Date.now()));
  await oidcSignInWith(ctx, user, (totpPage, jar) => submitCode(ctx.http, jar, totpPage, hotp(base32Decode(key.secret), step), 'totp page'));
  key.step = step;
}
