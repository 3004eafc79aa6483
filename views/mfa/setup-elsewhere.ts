import type { SafeHtml } from '../../src/http/html.ts';
import { messagePage } from '../message.ts';

/** Why a first second factor cannot be set up from this network (mfa.enrollment.networks), and what to do instead. */
export function setupElsewhereMessage(rpName?: string): string {
  const need = rpName ? `${rpName} needs a second step when you sign in, and you have not set one up yet. ` : '';
  return `${need}For your security, a second step can only be set up from your organisation's network, and you are not connected to it now. Set it up from the office network (or its VPN), or contact your helpdesk.`;
}

/** The "My security" page's answer instead of the setup page. */
export function setupElsewherePage(options: { back: { href: string; label: string }; helpdesk?: string }): SafeHtml {
  return messagePage({ title: 'You cannot set up a second factor from here', message: setupElsewhereMessage(), link: options.back, helpdesk: options.helpdesk });
}
