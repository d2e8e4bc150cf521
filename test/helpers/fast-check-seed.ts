// Property tests draw a new seed each run and print it when they fail (`{ seed: …, path: … }`). FC_SEED (and
// FC_PATH, to start at the shrunk counterexample) replays that run: `FC_SEED=-2005242455 npx vitest run …`.
const seed = process.env.FC_SEED;
if (seed !== undefined && seed !== '') {
  if (!/^-?\d+$/.test(seed)) throw new Error(`FC_SEED must be an integer, not ${JSON.stringify(seed)}`);
  const fc = await import('fast-check');
  const path = process.env.FC_PATH;
  fc.configureGlobal({ seed: Number(seed), ...(path === undefined || path === '' ? {} : { path }) });
}
