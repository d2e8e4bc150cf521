// The Codex CLI session captured against the mock (test/fixtures/capture-codex-session.ts redoes it).
import { readFileSync } from 'node:fs';

export interface CapturedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

export interface Capture {
  /** The upstream key of the mock account that served the capture: its sealed reasoning is that account's. */
  upstreamApiKey: string;
  requests: CapturedRequest[];
}

export const codexCapture = JSON.parse(readFileSync(new URL('../fixtures/codex-session.json', import.meta.url), 'utf8')) as Capture;
