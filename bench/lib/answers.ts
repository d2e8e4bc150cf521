// The fake upstream's answers, recorded once per run from the project's mock: what the bench's requests
// get from it, byte for byte, so the fake upstream answers like the mock without doing its work.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCRATCH, startMock } from './procs.js';
import { CHAT_BODY, MESSAGES_BODY, MESSAGES_STREAM_BODY, RESPONSES_BODY, STREAM_BODY_WITH_USAGE } from './requests.js';

const RECORDED = [
  { method: 'GET', path: '/v1/models', body: undefined, key: 'GET /v1/models' },
  { method: 'POST', path: '/v1/chat/completions', body: CHAT_BODY, key: 'POST /v1/chat/completions' },
  { method: 'POST', path: '/v1/chat/completions', body: STREAM_BODY_WITH_USAGE, key: 'POST /v1/chat/completions stream' },
  { method: 'POST', path: '/v1/responses', body: RESPONSES_BODY, key: 'POST /v1/responses stream' },
  { method: 'POST', path: '/v1/messages', body: MESSAGES_BODY, key: 'POST /v1/messages' },
  { method: 'POST', path: '/v1/messages', body: MESSAGES_STREAM_BODY, key: 'POST /v1/messages stream' },
] as const;

/** Records the mock's answers (streams with `streamChunks` events) and returns the file they are in. */
export async function recordAnswers(streamChunks = 20): Promise<string> {
  const mock = await startMock({ streamChunks });
  try {
    const answers: Record<string, { status: number; contentType: string; body: string; chunked: boolean }> = {};
    for (const r of RECORDED) {
      const res = await fetch(mock.url + r.path, {
        method: r.method,
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench-upstream-a-0123456789', 'x-api-key': 'sk-bench-upstream-a-0123456789', 'anthropic-version': '2023-06-01' },
        body: r.body,
      });
      const body = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200) throw new Error(`the mock answered ${r.key} with ${res.status}: ${body.toString('utf8')}`);
      const contentType = res.headers.get('content-type') ?? 'application/json';
      answers[r.key] = { status: res.status, contentType, body: body.toString('base64'), chunked: contentType.startsWith('text/event-stream') };
    }
    mkdirSync(SCRATCH, { recursive: true });
    const file = join(SCRATCH, `answers-${process.pid}.json`);
    writeFileSync(file, JSON.stringify(answers));
    return file;
  } finally {
    await mock.stop();
  }
}
