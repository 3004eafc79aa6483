/**
 * The subject an authorization request's id_token_hint names, or undefined without one.
 *
 * oidc-provider verifies the hint when the request arrives, before it saves the interaction, and
 * asks for a sign-in when the session's account is not the hinted one. It does not load the hint
 * again when the sign-in resumes, so it would then accept whoever signed in: read here from the
 * saved (already verified) parameters, to hold the finished sign-in to it (OIDC Core 3.1.2.1).
 */
export function hintedSubject(params: Record<string, unknown>): string | undefined {
  const hint = params.id_token_hint;
  if (typeof hint !== 'string' || hint === '') return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(hint.split('.')[1] ?? '', 'base64url').toString('utf8'));
    const sub = (payload as { sub?: unknown } | null)?.sub;
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}
