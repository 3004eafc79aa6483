import { html, type SafeHtml } from '../../src/http/html.ts';
import { layout } from '../layout.ts';
import { userNamed } from './signed-in-as.ts';

/**
 * A sign-in page reached again after the sign-in finished (the browser's Back). It names no address
 * of the application: none is registered for this, and the answer already sent is never sent again.
 * `signedInAs`: the user that sign-in signed in, still signed in here.
 */
export function finishedSignInPage(options: { rpName: string; signedInAs?: { name?: string; username: string }; securityHref: string; signOutHref: string }): SafeHtml {
  const { rpName, signedInAs } = options;
  if (!signedInAs) {
    return layout({
      title: 'Sign-in finished',
      body: html`<h1>Sign-in finished</h1>
<p role="status">This sign-in to ${rpName} has already ended. To sign in to ${rpName}, go back to ${rpName} and start again from there.</p>`,
    });
  }
  return layout({
    title: 'You are signed in',
    body: html`<h1>You are signed in</h1>
<p role="status">Your sign-in to ${rpName} is complete: you are signed in as ${userNamed(signedInAs)}.</p>
<p>To go on, return to ${rpName} with your browser's Forward button, or open ${rpName} again.</p>
<ul class="next-steps">
<li><a href="${options.securityHref}">My security settings</a></li>
<li><a href="${options.signOutHref}">Sign out</a></li>
</ul>`,
  });
}
