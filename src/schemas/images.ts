import { z } from 'zod';

/** Size rules of the documented contract for gpt-image-2: the largest frame is 3840x2160. */
const MAX_EDGE = 3840;
const MAX_PIXELS = 3840 * 2160;
const MAX_ASPECT = 3;
const SIZE = /^(\d{1,5})x(\d{1,5})$/;

/** Why a `size` breaks the rules, or undefined when it is fine. */
function sizeProblem(size: string): string | undefined {
  if (size === 'auto') return undefined;
  const match = SIZE.exec(size);
  if (match === null) return 'must be "auto" or WIDTHxHEIGHT, such as 1024x1024';
  const width = Number(match[1]);
  const height = Number(match[2]);
  if (width === 0 || height === 0) return 'width and height must be positive';
  if (width % 16 !== 0 || height % 16 !== 0) return 'width and height must both be multiples of 16';
  if (Math.max(width, height) > MAX_EDGE) return `no edge may exceed ${MAX_EDGE} pixels`;
  if (width * height > MAX_PIXELS) return 'must not have more pixels than 3840x2160';
  if (Math.max(width, height) / Math.min(width, height) > MAX_ASPECT) return 'aspect ratio must be between 1:3 and 3:1';
  return undefined;
}

/** A `size` under the documented contract's rules. */
export const imageSize = z.string().superRefine((size, ctx) => {
  const problem = sizeProblem(size);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

export const imageRequestSchema = z.looseObject({
  model: z.string(),
  prompt: z.string().min(1, 'must not be empty').max(32_000, 'must be at most 32000 characters'),
  n: z.number().int().min(1).max(10).nullish(),
  size: imageSize.nullish(),
  quality: z.enum(['high', 'medium', 'low', 'auto']).nullish(),
});
