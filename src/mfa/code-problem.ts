/**
 * Why a code typed at a second-factor step was refused, as the MFA steps report it to the page that
 * shows it. `enrolled-elsewhere`: a setup answered after the user's method was set up in another browser (told on the code page).
 * `wrong-backup-code`: an invalid code typed as a backup code (its advice is the user's list, not the app and the phone's clock).
 */
export type CodeProblem = 'invalid' | 'wrong-backup-code' | 'malformed' | 'replayed' | 'spent-backup-code' | 'expired' | 'enrolled-elsewhere';
