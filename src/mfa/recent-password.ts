/**
 * Like "sudo" mode: second factors may be set up or changed until the sign-in (the password) is this
 * old, on "My security" (account-access.ts) and in a sign-in's own setup step (flow.ts) alike.
 */
export const RECENT_PASSWORD_SECONDS = 10 * 60;
