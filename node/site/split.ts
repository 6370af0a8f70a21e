/**
 * The site's fixed split of its local notes into training and validation sets. The split depends only on the
 * seed and the note ids (not on file order or note text), so a restarted service trains and evaluates on the
 * same notes and reproduces the same update bytes.
 */
import { FedledgerError } from "../errors";
import { fnv1a } from "../text/hash";

/** The two sets. */
export interface NoteSplit<T> {
  train: T[];
  validation: T[];
}

/**
 * Splits notes: each note gets the key FNV-1a(`<seed>:<id>`); the `round(share · n)` notes with the smallest
 * keys (at least one when `share > 0` and there are two notes or more) form the validation set, the rest the
 * training set, both in their original order. Throws a FedledgerError when no training note is left.
 *
 * @example
 * const { train, validation } = splitNotes(notes, 0.2, 1);
 */
export function splitNotes<T extends { id: string }>(
  notes: readonly T[],
  share: number,
  seed: number,
): NoteSplit<T> {
  if (!(share >= 0 && share < 1)) throw new RangeError(`validation share must lie in [0, 1), got ${share}`);
  const n = notes.length;
  let k = Math.round(share * n);
  if (share > 0 && n >= 2) k = Math.max(1, k);
  k = Math.min(k, n - 1);
  if (n === 0 || n - k < 1)
    throw new FedledgerError(`no training notes: the data files hold ${n} note(s)`, {
      hint: "Point data at files holding labelled notes (at least two with a validation share above 0)",
    });
  const keyed = notes.map((note, index) => ({ index, key: fnv1a(`${seed}:${note.id}`) }));
  keyed.sort((a, b) => a.key - b.key || a.index - b.index);
  const inValidation = new Set(keyed.slice(0, k).map((e) => e.index));
  const split: NoteSplit<T> = { train: [], validation: [] };
  notes.forEach((note, i) => (inValidation.has(i) ? split.validation : split.train).push(note));
  return split;
}
