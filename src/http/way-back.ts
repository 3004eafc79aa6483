/** A refusal inside a sign-in: the button hands it back to the application (as Cancel does), so the user is not stranded here. */
export interface WayBack {
  action: string;
  csrf: string;
  rpName: string;
}
