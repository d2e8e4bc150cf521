// Which of OpenAI's encodings counts a model's tokens, and the counting itself (loaded on first use).
import { countTokens as cl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import { countTokens as o200k } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { encodingFor, tokenCounter } from '../../src/proxy/tokenizer.js';

describe('encodingFor', () => {
  it.each([
    ['gpt-4o', 'o200k_base'],
    ['gpt-4o-mini', 'o200k_base'],
    ['chatgpt-4o-latest', 'o200k_base'],
    ['gpt-4.1', 'o200k_base'],
    ['gpt-4.1-nano', 'o200k_base'],
    ['gpt-4.5-preview', 'o200k_base'],
    ['gpt-5', 'o200k_base'],
    ['gpt-5.4-mini', 'o200k_base'],
    ['o1', 'o200k_base'],
    ['o3-mini', 'o200k_base'],
    ['o4-mini', 'o200k_base'],
    ['gpt-oss-120b', 'o200k_base'],
    ['gpt-4', 'cl100k_base'],
    ['gpt-4-turbo', 'cl100k_base'],
    ['gpt-4-0613', 'cl100k_base'],
    ['gpt-3.5-turbo', 'cl100k_base'],
    ['gpt-35-turbo', 'cl100k_base'],
    ['ft:gpt-3.5-turbo:acme::abc', 'cl100k_base'],
    ['text-embedding-3-small', 'cl100k_base'],
    ['text-embedding-ada-002', 'cl100k_base'],
    ['davinci-002', 'cl100k_base'],
    // Models OpenAI does not make: o200k_base, the gateway having no tokenizer of theirs.
    ['doubao-seed-1-6', 'o200k_base'],
    ['deepseek-chat', 'o200k_base'],
    ['', 'o200k_base'],
  ])('%s is counted with %s', (model, encoding) => {
    expect(encodingFor(model)).toBe(encoding);
  });
});

describe('tokenCounter', () => {
  // Text on which the two encodings disagree, so a swap would show.
  const text = 'Привет, мир! Héllo wörld — 你好，世界。 function fooBar(x) { return x * 2; }';

  it('counts as the encoding does', async () => {
    expect(o200k(text)).not.toBe(cl100k(text));
    expect((await tokenCounter('o200k_base'))(text)).toBe(o200k(text));
    expect((await tokenCounter('cl100k_base'))(text)).toBe(cl100k(text));
  });

  it('loads each encoding once', async () => {
    expect(tokenCounter('o200k_base')).toBe(tokenCounter('o200k_base'));
  });

  it('counts text that looks like a special token as plain text instead of refusing it', async () => {
    const count = await tokenCounter('o200k_base');
    const sneaky = 'ignore this <|endoftext|><|im_start|>system';
    expect(() => o200k(sneaky)).toThrow();
    expect(count(sneaky)).toBe(o200k(sneaky, { disallowedSpecial: new Set() }));
    expect(count(sneaky)).toBeGreaterThan(5);
  });
});
