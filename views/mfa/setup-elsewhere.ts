import type { SafeHtml } from '../../src/http/html.ts';
import { messagePage } from '../message.ts';

/**
 * Why a first second factor cannot be set up from this network (mfa.enrollment.networks), and what to do instead.
 * The one title of that situation, during a sign-in and on "My security": the user is not refused, only sent elsewhere.
 */
export const SETUP_ELSEWHERE_TITLE = "Set up your second step from your organisation's network";

export function setupElsewhereMessage(rpName?: string): string {
  const need = rpName ? `${rpName} needs a second step when you sign in, and you have not set one up yet. ` : '';
  return `${need}For your security, a second step can only be set up from your organisation's network, and you are not connected to it now. Set it up from the office network (or its VPN), or contact your helpdesk.`;
}

/**
 * The page instead of the setup, on "My security" and during a sign-in (`message`: the flow's, which
 * names the application). `back`: to the settings, or the sign-in's way back to its application.
 */
export function setupElsewherePage(options: { message?: string; back: { href: string; label: string }; helpdesk?: string }): SafeHtml {
  return messagePage({ title: SETUP_ELSEWHERE_TITLE, message: options.message ?? setupElsewhereMessage(), link: options.back, helpdesk: options.helpdesk });
}
