import type { JsonObject } from './endpoint.js';

const INCLUDE_USAGE = '"stream_options":{"include_usage":true},';

/**
 * The body with `stream_options.include_usage` turned on, so every stream reports its tokens. When the
 * client sent no stream_options the field is spliced into the raw bytes (the rest stays exactly as sent);
 * otherwise the body is re-serialised with the option set.
 */
export function withStreamUsage(raw: Buffer, body: JsonObject): Buffer | string {
  if (body.stream_options === undefined) {
    const brace = raw.indexOf(0x7b /* { */);
    return Buffer.concat([raw.subarray(0, brace + 1), Buffer.from(INCLUDE_USAGE), raw.subarray(brace + 1)]);
  }
  const options = (body.stream_options ?? {}) as JsonObject;
  return JSON.stringify({ ...body, stream_options: { ...options, include_usage: true } });
}
