export {
  type DataParameters,
  evalBatch,
  LOCAL_HEAD,
  type TokenBatch,
  type TokenizedCorpus,
  tokenizedCorpus,
  trainingMicrobatch,
} from "./batches.ts";
export { BROWN_CORPUS, loadBrownText, untagBrown } from "./corpus.ts";
export { charTokenizer, type CharTokenizer, PRINTABLE_ASCII_VOCAB } from "./vocab.ts";
