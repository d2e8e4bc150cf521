// A small OpenAI-style upstream whose answers report exactly the usage a test sets, for cost tests.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
  completion_tokens_details?: { reasoning_tokens: number };
}

export interface ImageUsage {
  input_tokens: number;
  input_tokens_details?: { text_tokens: number; image_tokens: number };
  output_tokens: number;
  total_tokens: number;
}

/** A transcription's usage: whisper's duration, or the tokens of the gpt-4o transcribe models. */
export type TranscriptionUsage =
  | { type: 'duration'; seconds: number }
  | { type: 'tokens'; input_tokens: number; input_token_details: { text_tokens: number; audio_tokens: number }; output_tokens: number; total_tokens: number };

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export interface UsageUpstream {
  /** Base URL for the gateway's `upstreams[].baseUrl`. */
  readonly url: string;
  /** The usage the next chat answers report. */
  chatUsage: ChatUsage;
  /** Answer chat requests with a tool call instead of text. */
  toolCall: boolean;
  /** Answer chat requests with text that cites a web page (a `url_citation` annotation). */
  citation: boolean;
  /** The usage the next (plain) Responses API answers report. */
  responsesUsage: ResponsesUsage;
  /** The usage the next images answers report; undefined: none (as DALL-E answers). */
  imageUsage: ImageUsage | undefined;
  /** The usage the next transcription answers report. */
  transcriptionUsage: TranscriptionUsage;
  /** Stop a stream after its usage chunk, without `[DONE]`, and keep it open (a client then abandons it). */
  holdAfterUsage: boolean;
  /** While set, chat answers wait for it to resolve before they are sent (a slow upstream, on cue). */
  hold: Promise<void> | undefined;
  /** Chat requests received so far. */
  chatRequests: number;
  /** When set, chat requests are answered with this HTTP status and an error body. */
  chatError: number | undefined;
  close(): Promise<void>;
}

const UPSTREAM_ERROR = '{"error":{"message":"The server had an error.","type":"server_error","param":null,"code":null}}';
const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

export async function startUsageUpstream(): Promise<UsageUpstream> {
  const open = new Set<ServerResponse>();
  const state: Omit<UsageUpstream, 'url' | 'close'> = {
    chatUsage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    toolCall: false,
    citation: false,
    responsesUsage: { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 15 },
    imageUsage: undefined,
    transcriptionUsage: { type: 'duration', seconds: 3 },
    holdAfterUsage: false,
    hold: undefined,
    chatRequests: 0,
    chatError: undefined,
  };
  const server = createServer((req, res) => {
    if (req.url === '/v1/audio/transcriptions') {
      // A multipart upload: read and dropped.
      req.resume();
      req.once('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ text: 'Hello there.', usage: state.transcriptionUsage })));
      return;
    }
    void readJson(req).then((body) => {
      if (req.url === '/v1/images/generations') return answerImages(res, body, state.imageUsage);
      if (req.url === '/v1/responses') return answerResponse(res, body, state.responsesUsage);
      if (req.url === '/v1/chat/completions') {
        open.add(res);
        res.once('close', () => open.delete(res));
        state.chatRequests++;
        const answer = (): void => {
          if (state.chatError !== undefined) return void res.writeHead(state.chatError, { 'content-type': 'application/json' }).end(UPSTREAM_ERROR);
          return body.stream === true ? streamChat(res, body, state) : answerChat(res, body, state);
        };
        if (state.hold === undefined) return answer();
        return void state.hold.then(() => {
          if (!res.destroyed) answer();
        });
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"unknown","type":"invalid_request_error","param":null,"code":null}}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

const CITATION = { type: 'url_citation', url_citation: { start_index: 0, end_index: 12, title: 'Greetings', url: 'https://example.com/hello' } };

function message({ toolCall, citation }: { toolCall: boolean; citation: boolean }): Record<string, unknown> {
  if (toolCall) return { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] };
  return citation ? { role: 'assistant', content: 'Hello there.', annotations: [CITATION] } : { role: 'assistant', content: 'Hello there.' };
}

function answerChat(res: ServerResponse, body: Record<string, unknown>, state: Omit<UsageUpstream, 'url' | 'close'>): void {
  const answer = {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: body.model,
    choices: [{ index: 0, message: message(state), finish_reason: state.toolCall ? 'tool_calls' : 'stop' }],
    usage: state.chatUsage,
  };
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
}

function streamChat(res: ServerResponse, body: Record<string, unknown>, state: Omit<UsageUpstream, 'url' | 'close'>): void {
  const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const chunk = (choices: unknown[], usage?: unknown): string =>
    `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1_700_000_000, model: body.model, choices, ...(includeUsage ? { usage: usage ?? null } : {}) })}\n\n`;
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(chunk([{ index: 0, delta: { role: 'assistant', content: 'Hello' }, finish_reason: null }]));
  res.write(chunk([{ index: 0, delta: { content: ' there.' }, finish_reason: null }]));
  res.write(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
  if (includeUsage) res.write(chunk([], state.chatUsage));
  if (state.holdAfterUsage) return;
  res.end('data: [DONE]\n\n');
}

function answerImages(res: ServerResponse, body: Record<string, unknown>, usage: ImageUsage | undefined): void {
  const n = typeof body.n === 'number' ? body.n : 1;
  const data = Array.from({ length: n }, () => ({ b64_json: PNG_BASE64 }));
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ created: 1_700_000_000, data, ...(usage ? { usage } : {}) }));
}

function answerResponse(res: ServerResponse, body: Record<string, unknown>, usage: ResponsesUsage): void {
  const output = [{ id: 'msg_1', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hello there.', annotations: [] }] }];
  const answer = { id: 'resp_1', object: 'response', created_at: 1_700_000_000, status: 'completed', model: body.model, output, usage };
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
}
