// The count behind limits.bufferedBodyBytes; test/robustness/buffered-bodies.test.ts runs it in a gateway.
import { describe, expect, it } from 'vitest';
import { BufferedBodies } from '../../src/body/buffered-bodies.js';

describe('BufferedBodies', () => {
  it('holds up to the cap and refuses past it', () => {
    const bodies = new BufferedBodies();
    expect(bodies.hold(60, 100)).toBeDefined();
    expect(bodies.hold(40, 100)).toBeDefined();
    expect(bodies.hold(1, 100)).toBeUndefined();
    expect(bodies.held).toBe(100);
  });

  it('gives back what a hold shrinks to, once, however often it is released', () => {
    const bodies = new BufferedBodies();
    const chunked = bodies.hold(100, 100)!;
    chunked.shrinkTo(30);
    expect(bodies.held).toBe(30);
    chunked.shrinkTo(50);
    expect(bodies.held).toBe(30);
    chunked.release();
    chunked.release();
    chunked.shrinkTo(10);
    expect(bodies.held).toBe(0);
    expect(bodies.hold(100, 100)).toBeDefined();
  });
});
