/**
 * Work on one provider session under way, by uid: a save reads the stored session and writes the
 * merge (session-adapter.ts), an end reads it, marks its uid ended and removes it, and a sign-in
 * links it to its new SSO session only if it is still stored (session-sync.ts); none of them may
 * land between another's read and write. One process writes provider sessions (the server holds the
 * data directory's lock; the CLI only reads them), so waiting here is enough; different sessions
 * never wait for each other. Module-wide, so that the provider rebuilt by a key rotation and the one
 * still finishing requests take turns too. A turn must not wait for another turn of the same uid.
 */
const turns = new Map<string, Promise<unknown>>();

export async function oneTurnAtATime<T>(uid: string, work: () => Promise<T>): Promise<T> {
  const mine = (turns.get(uid) ?? Promise.resolve()).then(work);
  const settled = mine.catch(() => undefined);
  turns.set(uid, settled);
  try {
    return await mine;
  } finally {
    if (turns.get(uid) === settled) turns.delete(uid);
  }
}
