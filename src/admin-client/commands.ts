/**
 * `ai-gateway keys create|list|rotate|revoke` and `ai-gateway teams create|list`: the admin API over HTTP,
 * against a running gateway (`--url`), with the admin token from `GATEWAY_ADMIN_TOKEN` (never an argument,
 * which other users of the machine could read in the process list).
 */

export interface RemoteOptions {
  url?: string | undefined;
  name?: string | undefined;
  team?: string | undefined;
  models?: string | undefined;
  status?: string | undefined;
  'expires-at'?: string | undefined;
  'grace-seconds'?: string | undefined;
}

export const REMOTE_USAGE = `       ai-gateway keys create --name NAME [--team TEAM] [--models id,...] [--expires-at ISO-8601]
       ai-gateway keys list [--team TEAM] [--status active|revoked|expired|all]
       ai-gateway keys rotate ID [--grace-seconds N]
       ai-gateway keys revoke ID
       ai-gateway teams create --name NAME [--models id,...]
       ai-gateway teams list

  create, list, rotate, revoke and teams talk to a running gateway: --url (default $GATEWAY_URL or
  http://127.0.0.1:8080), admin token in $GATEWAY_ADMIN_TOKEN. A new key is printed once.`;

interface KeyView {
  id: string;
  name: string;
  team: string | null;
  status?: string;
  keyHint: string | null;
  source: string;
  expiresAt: string | null;
  key?: string;
}

class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

const list = (value: string | undefined): string[] | undefined => value?.split(',').map((m) => m.trim()).filter((m) => m !== '');

function printKey(out: (line: string) => void, key: KeyView): void {
  out(`id: ${key.id}\nname: ${key.name}\nteam: ${key.team ?? '-'}\nexpiresAt: ${key.expiresAt ?? '-'}`);
  if (key.key !== undefined) {
    out(`key: ${key.key}`);
    out('This secret is shown only once: give it to its owner now.');
  }
}

function table(out: (line: string) => void, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) out(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
}

export async function runRemote(group: string, command: string | undefined, argument: string | undefined, options: RemoteOptions, env: NodeJS.ProcessEnv, out: (line: string) => void): Promise<number> {
  const token = env.GATEWAY_ADMIN_TOKEN;
  if (token === undefined || token === '') {
    out('GATEWAY_ADMIN_TOKEN is not set: export the admin token the gateway was configured with.');
    return 2;
  }
  const base = (options.url ?? env.GATEWAY_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new CommandError(`cannot reach the gateway at ${base}: ${(err as Error).message}`, 1);
    }
    const json = (await response.json().catch(() => ({}))) as T & { error?: { message?: string } };
    if (!response.ok) throw new CommandError(`error ${response.status}: ${json.error?.message ?? response.statusText}`, 1);
    return json;
  };
  const requireName = (): string => {
    if (options.name === undefined) throw new CommandError('--name is required', 2);
    return options.name;
  };
  const requireId = (): string => {
    if (argument === undefined) throw new CommandError(`${group} ${command} needs a key id (see "ai-gateway keys list")`, 2);
    return encodeURIComponent(argument);
  };
  try {
    if (group === 'keys' && command === 'create') {
      const body = { name: requireName(), team: options.team, models: list(options.models), expiresAt: options['expires-at'] };
      printKey(out, await call<KeyView>('POST', '/admin/keys', body));
    } else if (group === 'keys' && command === 'list') {
      const query = new URLSearchParams({ ...(options.team !== undefined ? { team: options.team } : {}), ...(options.status !== undefined ? { status: options.status } : {}) });
      const { data } = await call<{ data: KeyView[] }>('GET', `/admin/keys?${query}`);
      table(out, ['ID', 'NAME', 'TEAM', 'STATUS', 'HINT', 'SOURCE'], data.map((k) => [k.id, k.name, k.team ?? '-', k.status ?? '-', k.keyHint ?? '-', k.source]));
    } else if (group === 'keys' && command === 'rotate') {
      const graceSeconds = options['grace-seconds'] === undefined ? undefined : Number(options['grace-seconds']);
      printKey(out, await call<KeyView>('POST', `/admin/keys/${requireId()}/rotate`, { graceSeconds }));
    } else if (group === 'keys' && command === 'revoke') {
      const key = await call<KeyView & { revokedAt: string }>('DELETE', `/admin/keys/${requireId()}`);
      out(`revoked ${key.name} (${key.id}) at ${key.revokedAt}`);
    } else if (group === 'teams' && command === 'create') {
      const team = await call<{ name: string }>('POST', '/admin/teams', { name: requireName(), models: list(options.models) });
      out(`created team ${team.name}`);
    } else if (group === 'teams' && command === 'list') {
      const { data } = await call<{ data: { name: string; models: string[] | null; source: string }[] }>('GET', '/admin/teams');
      table(out, ['NAME', 'MODELS', 'SOURCE'], data.map((t) => [t.name, t.models?.join(',') ?? '*', t.source]));
    } else {
      out(REMOTE_USAGE);
      return 2;
    }
    return 0;
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    out(err.message);
    return err.exitCode;
  }
}
