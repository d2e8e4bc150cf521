// A fetch for the official openai client that encodes each multipart form itself and keeps the bytes it
// sends, so a test can compare them byte for byte with what the upstream received behind the gateway.

export interface CapturingFetch {
  readonly fetch: typeof fetch;
  /** The multipart bodies sent, in order, exactly as they went on the wire. */
  readonly forms: Buffer[];
}

export function capturingFetch(): CapturingFetch {
  const forms: Buffer[] = [];
  const send: typeof fetch = async (input, init) => {
    if (!(init?.body instanceof FormData)) return fetch(input, init);
    // The platform's own encoder, as fetch would use it: the bytes and the boundary it chose.
    const encoded = new Response(init.body);
    const bytes = Buffer.from(await encoded.arrayBuffer());
    forms.push(bytes);
    const headers = new Headers(init.headers);
    headers.set('content-type', encoded.headers.get('content-type')!);
    return fetch(input, { ...init, headers, body: bytes });
  };
  return { fetch: send, forms };
}
