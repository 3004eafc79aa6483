import type { AppendFile } from './append-file.ts';
import type { JournalEntries } from './journal-entries.ts';
import { expired } from './journal-expiry.ts';
import { setLine } from './journal-lines.ts';
import type { JournalReplay } from './journal-replay.ts';
import { sealedRecords } from './journal-sealed-line.ts';
import type { JournalSealer } from './journal-sealer.ts';
import type { JournalTail } from './journal-tail.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';

const COMPACT_MIN_LINES = 20_000;
/**
 * Errors of a compaction that could not write its new journal (a full disk, a quota, a disk error):
 * the journal is still whole, so the server runs on it and compacts once it can.
 */
const WRITE_FAILURES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EIO']);

export function isWriteFailure(error: unknown): boolean {
  return WRITE_FAILURES.has((error as NodeJS.ErrnoException).code ?? '');
}

interface CompactionParts {
  journal: AppendFile;
  entries: JournalEntries;
  replay: JournalReplay;
  tail: JournalTail;
  sealer: JournalSealer;
  clock: Clock;
  logger: Logger | undefined;
}

/** Rewrites the journal with the live entries only, once it has grown well beyond them. */
export class JournalCompaction {
  readonly #parts: CompactionParts;
  /** Plaintext lines in the journal (a compaction's sealed record holds many): what decides the next compaction. */
  #journalLines = 0;
  #liveAtLastCompaction = 0;
  #underway: Promise<void> | undefined;

  constructor(parts: CompactionParts) {
    this.#parts = parts;
  }

  /** The compaction started by `startIfDue` while it runs (it never rejects: a failure is logged). */
  get underway(): Promise<void> | undefined {
    return this.#underway;
  }

  lineAppended(): void {
    this.#journalLines += 1;
  }

  startIfDue(): void {
    // Compared with the live set of the last compaction, not a fresh count: counting every entry on
    // every write made each write O(n). Compaction is O(n) but happens once per 4x growth: amortised O(1).
    if (this.#journalLines > COMPACT_MIN_LINES && this.#journalLines > 4 * this.#liveAtLastCompaction && !this.#underway) {
      this.#underway = this.run()
        // The journal is still whole (a failed rewrite leaves it in place, and removes what it wrote).
        .catch((error: unknown) => this.failed(error))
        .finally(() => (this.#underway = undefined));
    }
  }

  /**
   * The damaged lines and the torn last line found at open are written aside in the same step, just
   * before the swap that drops them from the journal: written earlier, a compaction that then failed
   * would leave them in the journal, and the next start would write them aside once more.
   */
  async run(): Promise<void> {
    const { journal, replay, tail } = this.#parts;
    tail.offset = await journal.rewrite(
      () => this.#snapshot(),
      async () => {
        await replay.setAside();
        return tail.takeForeignLines();
      },
    );
  }

  failed(error: unknown): void {
    // Tried again once the journal has doubled.
    this.#liveAtLastCompaction = Math.ceil(this.#journalLines / 2);
    this.#parts.logger?.warn({ event: 'store.journal.compaction-failed', path: this.#parts.journal.path, error: (error as NodeJS.ErrnoException).code ?? (error as Error).message }, 'the journal could not be compacted (is the disk full?): it is used as it is, and compacted later');
  }

  /** The live entries, sealed as records (see sealedRecords), for the rewrite. */
  #snapshot(): Iterable<string> {
    return sealedRecords(this.#parts.sealer, '', this.#liveLines());
  }

  /** The lines of the live entries; once all are read, their count decides the next compaction. */
  *#liveLines(): Generator<string> {
    const { entries, clock } = this.#parts;
    const now = clock.now();
    let count = 0;
    for (const [namespace, key, entry] of entries.all()) {
      if (!entry.durable || expired(entry, now)) continue;
      count += 1;
      yield setLine('', namespace, key, entry);
    }
    this.#journalLines = count;
    this.#liveAtLastCompaction = count;
  }
}
