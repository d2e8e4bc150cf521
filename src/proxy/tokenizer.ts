/**
 * Token counting with OpenAI's encodings, through gpt-tokenizer (pure JavaScript, its ranks shipped in the
 * package: nothing is fetched at run time). An encoding is loaded on first use only, which is the first
 * estimate that needs it (about 20 MiB of heap and 0.2 s once): a gateway whose clients stay never loads one.
 */

export type EncodingName = 'o200k_base' | 'cl100k_base';

/** Models OpenAI documents with cl100k_base (GPT-4 and GPT-3.5 Turbo, the embeddings, davinci-002 and babbage-002). */
const CL100K_MODEL = /^(?:ft:)?(?:gpt-4(?![o.])|gpt-3\.5|gpt-35|text-embedding-|davinci-002|babbage-002)/;

/**
 * The encoding of a model, by OpenAI's documented prefixes: cl100k_base for GPT-4 (not 4o or 4.x), GPT-3.5
 * and the embeddings; o200k_base for everything else: gpt-4o, gpt-4.1, gpt-4.5, gpt-5.x and the o-series,
 * and also any model OpenAI does not make (such as Doubao), whose own tokenizer the gateway does not have.
 */
export function encodingFor(model: string): EncodingName {
  return CL100K_MODEL.test(model) ? 'cl100k_base' : 'o200k_base';
}

export type CountTokens = (text: string) => number;

const loaded = new Map<EncodingName, Promise<CountTokens>>();

/** Text that looks like a special token (`<|endoftext|>`) is counted as the plain text it is, never refused. */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/** The token counter of an encoding, loaded once. */
export function tokenCounter(encoding: EncodingName): Promise<CountTokens> {
  let counter = loaded.get(encoding);
  if (counter === undefined) {
    const module = encoding === 'cl100k_base' ? import('gpt-tokenizer/encoding/cl100k_base') : import('gpt-tokenizer/encoding/o200k_base');
    counter = module.then(({ countTokens }) => (text: string) => countTokens(text, PLAIN_TEXT));
    // A failed load is tried again by the next estimate rather than remembered.
    counter.catch(() => loaded.delete(encoding));
    loaded.set(encoding, counter);
  }
  return counter;
}
