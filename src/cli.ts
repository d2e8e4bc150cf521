#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { sha256 } from './auth/client-keys.js';
import { REMOTE_USAGE, runRemote } from './admin-client/commands.js';

const USAGE = `usage: ai-gateway keys new --name NAME [--models id,id,...]
       ai-gateway keys hash KEY

${REMOTE_USAGE}

  keys new    prints a new random client key and the clientKeys line that holds only its SHA-256
  keys hash   prints the SHA-256 of an existing key, for keySha256`;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A new client key: 32 random bytes, URL-safe, with a prefix that makes it recognisable in a secret scanner. */
function newClientKey(): string {
  return `gwk-${randomBytes(32).toString('base64url')}`;
}

function configLine(name: string, key: string, models: string[] | undefined): string {
  const allowList = models === undefined ? '' : `, models: [${models.join(', ')}]`;
  return `- { name: ${name}, keySha256: "${sha256(key).toString('hex')}"${allowList} }`;
}

export function run(argv: string[], out: (line: string) => void, env: NodeJS.ProcessEnv = process.env): number | Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      name: { type: 'string' },
      models: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      url: { type: 'string' },
      team: { type: 'string' },
      status: { type: 'string' },
      'expires-at': { type: 'string' },
      'grace-seconds': { type: 'string' },
    },
  });
  const [group, command, argument] = positionals;
  // Commands against a running gateway's admin API.
  if (!values.help && (group === 'teams' || (group === 'keys' && command !== 'new' && command !== 'hash'))) {
    return runRemote(group, command, argument, values, env, out);
  }
  if (values.help || group !== 'keys') {
    out(USAGE);
    return values.help ? 0 : 2;
  }
  if (command === 'new') {
    if (values.name === undefined || !NAME.test(values.name)) {
      out('--name is required: 1-64 letters, digits, ".", "_" or "-"');
      return 2;
    }
    const models = values.models?.split(',').map((m) => m.trim()).filter((m) => m !== '');
    const key = newClientKey();
    out(`key: ${key}`);
    out('Give the key to its team; it is shown only once. Add this line under clientKeys: in the gateway config:');
    out(`  ${configLine(values.name, key, models)}`);
    return 0;
  }
  if (command === 'hash' && argument !== undefined) {
    out(sha256(argument).toString('hex'));
    return 0;
  }
  out(USAGE);
  return 2;
}

// Run only as the command (npm links bins, hence the realpath), not when imported by tests.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  try {
    void Promise.resolve(run(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`))).then(
      (code) => (process.exitCode = code),
      (err: unknown) => {
        process.stderr.write(`ai-gateway: ${(err as Error).message}\n`);
        process.exitCode = 1;
      },
    );
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
  }
}
