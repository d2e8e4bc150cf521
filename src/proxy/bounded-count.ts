import type { CountTokens } from './tokenizer.js';

// Counting tokens of text a client chose, on the event loop, must stay cheap whatever the text and however
// many clients hang up at once. BPE costs grow with the square of a word's length (64 Ki characters of one
// letter take seconds whole), and text without common words (base64, random letters) tokenizes tens of
// times slower than prose. So text is counted in segments of at most SEGMENT_CHARS, cut before a space
// where there is one (where the encoding cuts too). The first EXACT_CHARS of a text are always tokenized;
// past them, up to a number of characters, a time budget per text, and a time budget per second for the
// whole process; the rest is counted at the rate of what was.

/** Longest piece handed to the tokenizer at once. */
export const SEGMENT_CHARS = 256;
/** Characters of a text tokenized whatever the time budgets: small texts are counted exactly (about 1 ms at worst). */
export const EXACT_CHARS = 1024;
/** Characters of a text tokenized at most. */
export const MAX_TOKENIZED_CHARS = 64 * 1024;
/** Time spent tokenizing one text at most, once its first EXACT_CHARS characters are. */
export const TEXT_BUDGET_MS = 2;
/** Time the process spends tokenizing past the first EXACT_CHARS of texts, per second, at most (5 % of the event loop). */
export const PROCESS_BUDGET_MS_PER_SECOND = 50;

type Clock = () => number;
const performanceNow: Clock = performance.now.bind(performance);

/** Tokenizing time shared by every count of the process, renewed each second. */
export class TokenizeBudget {
  private windowStart = -Infinity;
  private spent = 0;

  constructor(
    private readonly msPerSecond = PROCESS_BUDGET_MS_PER_SECOND,
    readonly now: Clock = performanceNow,
  ) {}

  left(): boolean {
    this.roll();
    return this.spent < this.msPerSecond;
  }

  spend(ms: number): void {
    this.roll();
    this.spent += ms;
  }

  /** Starts a new second once the current one is over. */
  private roll(): void {
    const now = this.now();
    if (now - this.windowStart < 1_000) return;
    this.windowStart = now;
    this.spent = 0;
  }
}

const processBudget = new TokenizeBudget();

/** Tokens of a series of texts (a prompt's parts, or a completion), within the limits above. */
export class BoundedCount {
  private tokens = 0;
  private tokenized = 0;
  private skipped = 0;
  private spentMs = 0;

  constructor(
    private readonly count: CountTokens,
    private readonly budget: TokenizeBudget = processBudget,
  ) {}

  add(text: string): void {
    const now = this.budget.now;
    for (let at = 0; at < text.length; ) {
      if (!this.mayGoOn()) {
        this.skipped += text.length - at;
        return;
      }
      const end = segmentEnd(text, at);
      const started = now();
      this.tokens += this.count(text.slice(at, end));
      const ms = now() - started;
      this.spentMs += ms;
      this.budget.spend(ms);
      this.tokenized += end - at;
      at = end;
    }
  }

  total(): number {
    if (this.skipped === 0) return this.tokens;
    return this.tokens + Math.round((this.skipped * this.tokens) / this.tokenized);
  }

  private mayGoOn(): boolean {
    if (this.tokenized < EXACT_CHARS) return true;
    return this.tokenized < MAX_TOKENIZED_CHARS && this.spentMs < TEXT_BUDGET_MS && this.budget.left();
  }
}

const isSpace = (code: number): boolean => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;

/** Where the segment that starts at `at` ends: before the last space of its second half, else at its limit. */
function segmentEnd(text: string, at: number): number {
  const limit = at + SEGMENT_CHARS;
  if (limit >= text.length) return text.length;
  for (let i = limit; i > at + SEGMENT_CHARS / 2; i--) if (isSpace(text.charCodeAt(i))) return i;
  // No space: a cut inside a long word, never between the two halves of a surrogate pair.
  const code = text.charCodeAt(limit - 1);
  return code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit;
}
