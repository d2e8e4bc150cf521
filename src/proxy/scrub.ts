const MASK = '***';
/** OpenAI-style keys, whole or partly masked by the upstream itself (`sk-proj-abc***wxyz`). */
const KEY_LIKE = /\bsk-[A-Za-z0-9_*.-]{6,}/g;

/** Removes upstream API keys from text the upstream wrote, before it reaches a client or a log. */
export class SecretScrubber {
  private readonly secrets: readonly string[];

  /** Longest first, so a key that contains another is masked whole. Duplicates are dropped. */
  constructor(secrets: Iterable<string>) {
    this.secrets = [...new Set(secrets)].sort((a, b) => b.length - a.length);
  }

  scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join(MASK);
    }
    return out.replace(KEY_LIKE, `sk-${MASK}`);
  }
}
