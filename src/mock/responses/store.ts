// Stored responses (`store` defaults to true), each visible only to the account that created it.
/** A JSON object as the mock reads and writes it. */
type Json = Record<string, unknown>;

export interface StoredResponse {
  account: string;
  /** The response object as GET returns it. */
  response: Json;
  /** The input items of this response, with ids, oldest first. */
  inputItems: Json[];
  /** For `background: true`: the finished response, swapped in at the first GET unless cancelled. */
  pending?: Json;
}

/** Oldest entries go first past this many, so a long benchmark cannot grow the mock without bound. */
const MAX_STORED = 10_000;

export class ResponseStore {
  private readonly byId = new Map<string, StoredResponse>();

  put(id: string, stored: StoredResponse): void {
    if (this.byId.size >= MAX_STORED) {
      const oldest = this.byId.keys().next();
      if (oldest.done !== true) this.byId.delete(oldest.value);
    }
    this.byId.set(id, stored);
  }

  /** The response, or undefined when it does not exist for this account (another account's is not found). */
  get(account: string, id: string): StoredResponse | undefined {
    const stored = this.byId.get(id);
    return stored?.account === account ? stored : undefined;
  }

  delete(account: string, id: string): boolean {
    if (this.get(account, id) === undefined) return false;
    return this.byId.delete(id);
  }
}
