// Which release of the official openai client the tests use. Every test imports `openai`; with
// OPENAI_SDK_PACKAGE=openai7 (set by scripts/ci-node-matrix.sh on Node 22 and 24) vitest resolves that
// import, and its subpaths, to the `openai7` dev dependency (`npm:openai@^7`) instead.
/** The packages the tests can run with, and the major version each must be. */
export const OPENAI_SDK_PACKAGES = { openai: 6, openai7: 7 } as const;
export type OpenAISdkPackage = keyof typeof OPENAI_SDK_PACKAGES;

export function openaiSdkPackage(env: NodeJS.ProcessEnv = process.env): OpenAISdkPackage {
  const name = env.OPENAI_SDK_PACKAGE ?? 'openai';
  if (!(name in OPENAI_SDK_PACKAGES)) {
    throw new Error(`OPENAI_SDK_PACKAGE=${name} is not one of ${Object.keys(OPENAI_SDK_PACKAGES).join(', ')}`);
  }
  return name as OpenAISdkPackage;
}

/** vitest's `resolve.alias` for the chosen package: none for `openai` itself. */
export function openaiSdkAlias(env: NodeJS.ProcessEnv = process.env): { find: RegExp; replacement: string }[] {
  const name = openaiSdkPackage(env);
  return name === 'openai' ? [] : [{ find: /^openai(\/.*)?$/, replacement: `${name}$1` }];
}
