import { z } from 'zod';
import { imageSize } from './images.js';

/**
 * Multipart bodies: every field arrives as text, so numbers and booleans are checked in their written form.
 * The form itself goes upstream exactly as sent; these rules only decide whether it may.
 */
const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .refine((v) => Number(v) >= min && Number(v) <= max, `must be between ${min} and ${max}`);
const decimal = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+(\.\d+)?$/, 'must be a number')
    .refine((v) => Number(v) >= min && Number(v) <= max, `must be between ${min} and ${max}`);
const flag = z.enum(['true', 'false'], 'must be true or false');

export const transcriptionFormSchema = z.looseObject({
  model: z.string(),
  language: z.string().optional(),
  prompt: z.string().optional(),
  response_format: z.enum(['json', 'text', 'srt', 'verbose_json', 'vtt', 'diarized_json']).optional(),
  temperature: decimal(0, 1).optional(),
  stream: flag.optional(),
});

export const imageEditFormSchema = z.looseObject({
  model: z.string(),
  prompt: z.string().min(1, 'must not be empty').max(32_000, 'must be at most 32000 characters'),
  n: integer(1, 10).optional(),
  size: imageSize.optional(),
  quality: z.enum(['high', 'medium', 'low', 'auto', 'standard']).optional(),
  stream: flag.optional(),
});
