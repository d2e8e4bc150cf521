// The forms in which an upstream may quote a secret (a key, an organization, a project): each masked
// wherever a long enough run of it appears. Escapes (JSON, URL, HTML) are undone before forms are sought
// (see decoded-view.ts), so they need no form of their own.

/** The shortest run of a secret's characters masked anywhere in it. */
export const RUN = 16;
/** The shortest fragment masked where it begins or ends the secret (`sk-proj-Zq9x` quoted and cut). */
export const FRAGMENT = 8;

export interface KeyForm {
  /** The form's text; lower-case when it is `caseless`. */
  readonly text: string;
  /** Matched whatever the case of the text's letters (the key itself, hex). */
  readonly caseless: boolean;
  /** The shortest run of this form masked anywhere in it: RUN characters of the secret, so encoded. */
  readonly run: number;
  /** The shortest run masked where it begins or ends the form: FRAGMENT characters of the secret, so encoded. */
  readonly fragment: number;
}

/**
 * The secret itself, in any case; its hex (any case, as the letters of hex are); and its base64 text (both
 * alphabets) at each of the three alignments it may have in an encoded text, such as after `Bearer `.
 */
export function formsOf(secret: string): KeyForm[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms: KeyForm[] = [
    { text: asciiLowerCase(secret), caseless: true, run: RUN, fragment: FRAGMENT },
    { text: bytes.toString('hex'), caseless: true, run: 2 * RUN, fragment: 2 * FRAGMENT },
  ];
  const base64 = new Set<string>();
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    // Characters that depend on the bytes before or after the secret are dropped: the rest is the same in
    // any text that holds the secret at this alignment.
    const stable = encoded.slice(Math.ceil((shift * 4) / 3), Math.floor(((shift + bytes.length) * 4) / 3));
    base64.add(stable).add(stable.replaceAll('+', '-').replaceAll('/', '_'));
  }
  // n bytes at any alignment leave at least floor(4n/3) - 1 stable characters.
  for (const text of base64) forms.push({ text, caseless: false, run: stableBase64(RUN), fragment: stableBase64(FRAGMENT) });
  return forms.filter((form) => form.text.length >= form.fragment);
}

function stableBase64(bytes: number): number {
  return Math.floor((bytes * 4) / 3) - 1;
}

/** Only ASCII letters are folded: a key is ASCII, and folding nothing else keeps every form's length. */
export function asciiLowerCase(text: string): string {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) | 0x20));
}
