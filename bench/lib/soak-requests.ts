// The requests a soak run sends: every endpoint the gateway serves, in one fixed rotation. Uploads are
// real multipart forms; stored responses are read back by id; a share of the chats carries a fresh
// conversation id, so the pin stores fill as a busy gateway's do.
import { randomUUID } from 'node:crypto';
import { CHAT_BODY, CLIENT_KEYS, LIMITED_KEY, RESPONSES_BODY, STREAM_BODY } from './requests.js';

export interface SoakRequest {
  /** The endpoint's name in the report. */
  name: string;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

const AUTH = { authorization: `Bearer ${CLIENT_KEYS[LIMITED_KEY]}` };
const JSON_HEADERS = { ...AUTH, 'content-type': 'application/json' };

/** A multipart form of text fields and one file. */
function form(fields: Record<string, string>, file: { field: string; name: string; type: string; bytes: Buffer }): { headers: Record<string, string>; body: Buffer } {
  const boundary = `soak${randomUUID().replaceAll('-', '')}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n`));
  parts.push(file.bytes, Buffer.from(`\r\n--${boundary}--\r\n`));
  return { headers: { ...AUTH, 'content-type': `multipart/form-data; boundary=${boundary}` }, body: Buffer.concat(parts) };
}

/** Three seconds of "audio" at the mock's assumed bitrate; the bytes are never decoded. */
const AUDIO = Buffer.alloc(48_000, 7);
/** A 1x1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

const json = (name: string, path: string, body: object | string): SoakRequest => ({
  name,
  method: 'POST',
  path,
  headers: JSON_HEADERS,
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

const transcription = form({ model: 'whisper-1', response_format: 'json' }, { field: 'file', name: 'clip.mp3', type: 'audio/mpeg', bytes: AUDIO });
const translation = form({ model: 'whisper-1' }, { field: 'file', name: 'clip.mp3', type: 'audio/mpeg', bytes: AUDIO });
const imageEdit = form({ model: 'gpt-image-2', prompt: 'Add a small red hat', size: '1024x1024', quality: 'low' }, { field: 'image', name: 'in.png', type: 'image/png', bytes: PNG });

/** The fixed part of the rotation: one request per endpoint. */
export const SOAK_REQUESTS: readonly SoakRequest[] = [
  json('chat', '/v1/chat/completions', CHAT_BODY),
  json('chat-stream', '/v1/chat/completions', STREAM_BODY),
  json('responses', '/v1/responses', { model: 'gpt-4o', input: 'Say hello.', store: false }),
  json('responses-stream', '/v1/responses', RESPONSES_BODY),
  json('responses-stored', '/v1/responses', { model: 'gpt-4o', input: 'Remember this.', store: true }),
  json('embeddings', '/v1/embeddings', { model: 'text-embedding-3-small', input: ['a soak run', 'of every endpoint'] }),
  json('completions', '/v1/completions', { model: 'gpt-3.5-turbo-instruct', prompt: 'Once upon a time', max_tokens: 16 }),
  json('moderations', '/v1/moderations', { model: 'omni-moderation-latest', input: 'A friendly sentence.' }),
  { name: 'transcriptions', method: 'POST', path: '/v1/audio/transcriptions', ...transcription },
  { name: 'translations', method: 'POST', path: '/v1/audio/translations', ...translation },
  json('speech', '/v1/audio/speech', { model: 'tts-1', input: 'Hello from the soak run.', voice: 'alloy' }),
  json('images', '/v1/images/generations', { model: 'gpt-image-2', prompt: 'A lighthouse at dusk', size: '1024x1024', quality: 'low' }),
  { name: 'image-edits', method: 'POST', path: '/v1/images/edits', ...imageEdit },
  { name: 'models', method: 'GET', path: '/v1/models', headers: AUTH },
];

export const NEW_CONVERSATION = 'chat-new-conversation';
export const BY_ID = 'responses-by-id';

/** A chat of a conversation never seen before: one more pin for the stores to hold. */
export function newConversationChat(): SoakRequest {
  return { ...json(NEW_CONVERSATION, '/v1/chat/completions', CHAT_BODY), headers: { ...JSON_HEADERS, 'x-conversation-id': randomUUID() } };
}

/** Reads a stored response back by the id its creation answered. */
export function responseById(id: string): SoakRequest {
  return { name: BY_ID, method: 'GET', path: `/v1/responses/${encodeURIComponent(id)}`, headers: AUTH };
}
