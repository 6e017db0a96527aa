/**
 * The fixed character vocabulary: printable ASCII (space to `~`), token id = position.
 * Fixed rather than derived from the corpus so that the spec, and with it the registry's spec
 * hash, does not depend on which characters a corpus version happens to contain.
 */
export const PRINTABLE_ASCII_VOCAB: string = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("");

/** Maps characters to ids and back for one vocabulary string (id = index in the string). */
export interface CharTokenizer {
  readonly vocab: string;
  readonly size: number;
  /** Characters outside the vocabulary map to the id of `fallback` (a space by default). */
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
}

/** Builds the tokenizer of `vocab`; rejects duplicate characters (ids would be ambiguous). */
export function charTokenizer(vocab: string = PRINTABLE_ASCII_VOCAB, fallback = " "): CharTokenizer {
  const chars = Array.from(vocab);
  const ids = new Map<string, number>();
  chars.forEach((c, i) => {
    if (ids.has(c)) throw new Error(`vocabulary repeats the character ${JSON.stringify(c)}`);
    ids.set(c, i);
  });
  const fallbackId = ids.get(fallback);
  if (fallbackId === undefined) throw new Error(`fallback ${JSON.stringify(fallback)} is not in the vocabulary`);
  return {
    vocab,
    size: chars.length,
    encode(text) {
      const out = new Int32Array(text.length);
      for (let i = 0; i < text.length; i++) out[i] = ids.get(text[i] as string) ?? fallbackId;
      return out;
    },
    decode(values) {
      let s = "";
      for (let i = 0; i < values.length; i++) s += chars[values[i] as number] ?? "";
      return s;
    },
  };
}
