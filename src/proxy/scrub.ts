const MASK = '***';
/** OpenAI-style keys, whole or partly masked by the upstream itself (`sk-proj-abc***wxyz`). */
const KEY_LIKE = /\bsk-[A-Za-z0-9_*.-]{6,}/g;

/** Removes upstream API keys from text the upstream wrote, before it reaches a client or a log. */
export class SecretScrubber {
  constructor(private readonly secrets: readonly string[]) {}

  scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join(MASK);
    }
    return out.replace(KEY_LIKE, `sk-${MASK}`);
  }
}
