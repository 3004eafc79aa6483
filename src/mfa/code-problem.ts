/**
 * Why a code typed at a second-factor step was refused, as the MFA steps report it to the page that
 * shows it. `enrolled-elsewhere`: a setup answered after the user's method was set up in another browser (told on the code page).
 */
export type CodeProblem = 'invalid' | 'malformed' | 'replayed' | 'spent-backup-code' | 'expired' | 'enrolled-elsewhere';
