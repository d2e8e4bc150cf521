// Reads multipart/form-data bodies with the platform's own parser (the WHATWG Response.formData()).
import { invalidRequest } from './errors.js';
import type { Plan, RecordedRequest } from './types.js';

export const MULTIPART_TYPE = 'multipart/form-data';

/** The parsed form, or the 400 to answer when the body is not a readable multipart form. */
export async function readForm(rec: RecordedRequest): Promise<FormData | Plan> {
  const type = rec.headers['content-type'];
  if (rec.rawBytes === undefined || typeof type !== 'string' || !type.toLowerCase().startsWith(MULTIPART_TYPE)) {
    return invalidRequest(`Invalid Content-Type header (${String(type)}), expected multipart/form-data.`);
  }
  try {
    return await new Response(rec.rawBytes, { headers: { 'content-type': type } }).formData();
  } catch {
    return invalidRequest('Could not parse multipart form: the body does not match its boundary.');
  }
}

export function formString(form: FormData, name: string): string | undefined {
  const v = form.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** Every file sent under any of `names` (SDKs send arrays as `name[]`). */
export function formFiles(form: FormData, ...names: string[]): File[] {
  const files: File[] = [];
  for (const name of names) for (const v of form.getAll(name)) if (typeof v !== 'string') files.push(v);
  return files;
}
