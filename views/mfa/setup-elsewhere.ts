import type { SafeHtml } from '../../src/http/html.ts';
import { messagePage } from '../message.ts';
import { setupElsewhereMessage } from '../../src/login/account-messages.ts';

/**
 * The one title of a first second factor that cannot be set up from this network, during a sign-in
 * and on "My security": the user is not refused, only sent elsewhere.
 */
const SETUP_ELSEWHERE_TITLE = "Set up your second step from your organisation's network";

/**
 * The page instead of the setup, on "My security" and during a sign-in (`message`: the flow's, which
 * names the application). `back`: to the settings, or the sign-in's way back to its application.
 */
export function setupElsewherePage(options: { message?: string; back: { href: string; label: string }; helpdesk?: string }): SafeHtml {
  return messagePage({ title: SETUP_ELSEWHERE_TITLE, message: options.message ?? setupElsewhereMessage(), link: options.back, helpdesk: options.helpdesk });
}
