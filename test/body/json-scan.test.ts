import { describe, expect, it } from 'vitest';
import { foldCase, JSON_SHAPE_LIMITS, jsonShapeProblem } from '../../src/body/json-scan.js';

const problem = (text: string, limits = JSON_SHAPE_LIMITS): string | undefined => jsonShapeProblem(Buffer.from(text), limits);
const small = { maxDepth: 4, maxArrayItems: 3, maxEntries: 10 };

describe('jsonShapeProblem: repeated keys', () => {
  it.each([
    ['at the top level', '{"model":"a","messages":[],"model":"b"}', 'model'],
    ['inside a message', '{"messages":[{"role":"user","content":"x","role":"system"}]}', 'role'],
    ['deep in an unknown field', '{"metadata":{"a":{"b":{"c":1,"c":2}}}}', 'c'],
    ['differing in case', '{"model":"gpt-4o-mini","MODEL":"gpt-5.4-pro"}', 'model'],
    ['differing in case, nested', '{"stream_options":{"include_usage":true,"Include_Usage":false}}', 'include_usage'],
    ['written with an escape', '{"model":"a","mod\\u0065l":"b"}', 'model'],
    ['escaped and in another case', '{"model":"a","MOD\\u0045L":"b"}', 'model'],
    ['with an escaped quote in it', '{"a\\"b":1,"a\\u0022b":2}', 'a"b'],
    ['the empty key', '{"":1,"":2}', "''"],
    // Go's decoder takes each of these for the ASCII field name.
    ['with a long s (Go folds it to s)', '{"stream":false,"\u017ftream":true}', 'stream'],
    ['with the Kelvin sign (Go folds it to k)', '{"max_tokens":1,"max_to\u212aens":9}', 'max_tokens'],
    ['with a dotless i', '{"input":"a","\u0131nput":"b"}', 'input'],
    ['with a dotted capital I', '{"input":"a","\u0130NPUT":"b"}', 'input'],
  ])('refuses a repeated key %s, naming it', (_name, body, key) => {
    const message = problem(body);
    expect(message).toMatch(/twice in one object/);
    expect(message).toContain(key === "''" ? "''" : `'${key}'`);
  });

  it.each([
    ['the same key in sibling objects', '[{"a":1},{"a":2},{"A":3}]'],
    ['the same key at different depths', '{"a":{"a":{"a":1}},"b":{"a":2}}'],
    ['a key reused after a nested object closed', '{"a":{"b":{"c":1}},"d":{"c":2,"b":3}}'],
    ['key-like strings among values', '{"a":"a","b":["a","a"],"c":"b"}'],
    ['brackets, commas and quotes inside strings', '{"a":"{\\"a\\":1,\\"a\\":2}","b":"[,,,]"}'],
    ['keys that differ only beyond case', '{"model":1,"model_":2,"m0del":3}'],
    ['a backslash before a quote that ends the string', '{"a\\\\":1,"a":2}'],
  ])('accepts %s', (_name, body) => {
    expect(problem(body)).toBeUndefined();
  });

  it('folds keys as Go matches field names', () => {
    expect(foldCase('Include_Usage')).toBe(foldCase('include_usage'));
    expect(foldCase('\u017ftream')).toBe(foldCase('stream'));
    expect(foldCase('\u0130nput')).toBe(foldCase('input'));
    expect(foldCase('model')).not.toBe(foldCase('models'));
  });

  it('quotes at most 200 characters of a long repeated key', () => {
    const key = 'k'.repeat(100_000);
    const message = problem(`{"${key}":1,"${key}":2}`)!;
    expect(message).toMatch(/twice in one object/);
    expect(message.length).toBeLessThan(600);
  });
});

describe('jsonShapeProblem: size of the structure', () => {
  it('refuses nesting deeper than the limit, and accepts it at the limit', () => {
    expect(problem('[[[[1]]]]', small)).toBeUndefined();
    expect(problem('[[[[[1]]]]]', small)).toMatch(/deeper than 4 levels/);
  });

  it('refuses an array over the item limit, counting only its own items', () => {
    expect(problem('[1,2,3]', small)).toBeUndefined();
    expect(problem('[[1,2,3],[1,2,3]]', small)).toBeUndefined();
    expect(problem('[1,2,3,4]', small)).toMatch(/more than 3 items/);
    expect(problem('{"a":1,"b":2,"c":3,"d":4}', small)).toBeUndefined();
    expect(problem('["1,2,3,4,5"]', small)).toBeUndefined();
  });

  it('refuses more entries in all than the limit', () => {
    expect(problem('{"a":[1,2],"b":[1,2],"c":[1,2]}', small)).toBeUndefined();
    expect(problem('{"a":[1,2],"b":[1,2],"c":[1,2],"d":[1,2]}', small)).toMatch(/more than 10 array items and object members/);
  });

  it('stops at the first item over the limit of a 25 MiB array, without reading the rest', () => {
    const body = Buffer.from(`{"model":"gpt-4o-mini","messages":[${'1,'.repeat(12 * 1024 * 1024)}1]}`);
    expect(jsonShapeProblem(body)).toMatch(/more than 100000 items/);
  });

  it('leaves what is not JSON to the parser', () => {
    expect(problem('{"a":"unterminated')).toBeUndefined();
    expect(problem(']]]')).toBeUndefined();
    expect(problem('{"a\\x":1,"a\\x":2}')).toBeUndefined();
  });
});
