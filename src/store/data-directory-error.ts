/** The data directory cannot be used as it is (a file missing, cut short or not Stepgate's); the message says what to do. */
export class DataDirectoryError extends Error {}
