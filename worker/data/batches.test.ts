import { describe, expect, it } from "vitest";
import { microbatchSeed } from "../../sdk/protocol/seed.ts";
import { randomFromSeed } from "../model/random.ts";
import { evalBatch, tokenizedCorpus, trainingMicrobatch, type DataParameters } from "./batches.ts";
import { loadBrownText, untagBrown } from "./corpus.ts";
import { charTokenizer, PRINTABLE_ASCII_VOCAB } from "./vocab.ts";

const params: DataParameters = { vocab: PRINTABLE_ASCII_VOCAB, contextLength: 32, microbatchSize: 8, evalFraction: 0.05 };
const HEAD = "0x00000000000000000000000000000000000000aa";
const OTHER_HEAD = "0x00000000000000000000000000000000000000bb";

describe("corpus", () => {
  it("strips Brown tags and normalizes whitespace and quotes", () => {
    expect(untagBrown("\n\n\tThe/at jury/nn said/vbd ``/`` no/at ''/'' ,/, and/cc (/( it/pps )/) ./.\n")).toBe(
      'The jury said " no ", and (it).',
    );
  });

  it("loads the whole installed corpus once, as printable ASCII", () => {
    const text = loadBrownText();
    expect(text.length).toBeGreaterThan(5_000_000);
    expect(text.startsWith("The Fulton County Grand Jury said Friday")).toBe(true);
    expect(text.slice(0, 10_000)).not.toMatch(/\/(at|nn|vbd)\b|\s\s/);
    expect(loadBrownText()).toBe(text);
    const { tokens } = tokenizedCorpus(params.vocab, params.evalFraction);
    expect(tokenizedCorpus(params.vocab, params.evalFraction).tokens).toBe(tokens);
  });

  it("tokenizes characters to fixed ids and back", () => {
    const tokenizer = charTokenizer();
    expect(tokenizer.size).toBe(95);
    expect([...tokenizer.encode(" A~")]).toEqual([0, 33, 94]);
    expect(tokenizer.decode(tokenizer.encode("Hello, world."))).toBe("Hello, world.");
    expect([...tokenizer.encode("é")]).toEqual([0]);
  });
});

describe("deterministic microbatches", () => {
  it("returns the same batch for the same (model, round, head, index) and another one otherwise", () => {
    const a = trainingMicrobatch(params, 1n, 2n, HEAD, 3);
    expect(trainingMicrobatch(params, 1n, 2n, HEAD, 3)).toEqual(a);
    expect(trainingMicrobatch(params, 1n, 2n, HEAD, 4).inputs).not.toEqual(a.inputs);
    expect(trainingMicrobatch(params, 1n, 3n, HEAD, 3).inputs).not.toEqual(a.inputs);
    expect(trainingMicrobatch(params, 2n, 2n, HEAD, 3).inputs).not.toEqual(a.inputs);
  });

  it("trainingMicrobatch_otherHead_drawsOtherData (a copied commitment is not the copier's work)", () => {
    for (let index = 0; index < 4; index++)
      expect(trainingMicrobatch(params, 1n, 2n, OTHER_HEAD, index).inputs).not.toEqual(
        trainingMicrobatch(params, 1n, 2n, HEAD, index).inputs,
      );
  });

  it("draws windows from the protocol seed and shifts targets by one character", () => {
    const batch = trainingMicrobatch(params, 1n, 2n, HEAD, 3);
    const { tokens, trainLength } = tokenizedCorpus(params.vocab, params.evalFraction);
    const random = randomFromSeed(microbatchSeed(1n, 2n, HEAD, 3));
    for (let row = 0; row < params.microbatchSize; row++) {
      const offset = random.nextInt(trainLength - params.contextLength - 1);
      const T = params.contextLength;
      expect([...batch.inputs.subarray(row * T, (row + 1) * T)]).toEqual([...tokens.subarray(offset, offset + T)]);
      expect([...batch.targets.subarray(row * T, (row + 1) * T)]).toEqual([...tokens.subarray(offset + 1, offset + T + 1)]);
      expect(offset + T + 1).toBeLessThanOrEqual(trainLength);
    }
  });

  it("keeps a fixed held-out eval batch outside the training range", () => {
    const batch = evalBatch(params, 4);
    expect(evalBatch(params, 4)).toEqual(batch);
    expect(batch.inputs.length).toBe(4 * params.contextLength);
    const { tokens, trainLength } = tokenizedCorpus(params.vocab, params.evalFraction);
    expect([...batch.inputs.subarray(0, params.contextLength)]).toEqual([
      ...tokens.subarray(trainLength, trainLength + params.contextLength),
    ]);
    expect(() => evalBatch(params, 0)).toThrow();
  });
});
