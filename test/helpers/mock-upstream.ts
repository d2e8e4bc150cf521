// Starts the mock OpenAI-compatible upstream on 127.0.0.1 with a free port, for tests.
import { createMockUpstream } from '../../src/mock/upstream.js';
import type { MockUpstream, MockUpstreamOptions } from '../../src/mock/upstream.js';

export type { Fault, MockUpstream, MockUpstreamOptions, RecordedRequest } from '../../src/mock/upstream.js';
/** What the mock answers, for byte-exact comparisons in gateway tests. */
export { mockEmbedding, mockSpeechAudio } from '../../src/mock/upstream.js';

export async function startMockUpstream(options: MockUpstreamOptions = {}): Promise<MockUpstream> {
  return createMockUpstream({ ...options, host: '127.0.0.1', port: 0 });
}
