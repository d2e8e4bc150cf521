import { buildApp } from './app.js';
import { ConfigError, defaultConfigPath, loadConfigFile } from './config/load.js';

/** How long the process may take to exit once closed (or, after drainMs, to close). */
const EXIT_GRACE_MS = 2_000;

/** The gateway process: config, listen, signals. */
async function main(): Promise<void> {
  const configPath = defaultConfigPath();
  const config = loadConfigFile(configPath);
  const app = await buildApp(config);
  await app.listen({ host: config.listen.host, port: config.listen.port });
  app.log.info(
    { config: configPath, upstreams: config.upstreams.map((u) => u.name), clientKeys: config.clientKeys.length, maxConnections: app.server.maxConnections },
    'gateway ready',
  );

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const { drainMs } = app.services.config.shutdown;
    app.log.info({ signal, drainMs }, 'shutting down: no new connections, finishing requests in flight');
    // Closing cuts what is still open after drainMs (see drainOnClose); should an onClose hook (Redis,
    // say) hang after that, the process still goes.
    const hung = setTimeout(() => {
      app.log.error('shutdown did not finish in time: exiting');
      process.exit(1);
    }, drainMs + EXIT_GRACE_MS);
    hung.unref();
    try {
      await app.close();
      app.log.info('gateway stopped');
      process.exitCode = 0;
    } catch (err) {
      app.log.error({ err }, 'shutdown failed');
      process.exitCode = 1;
    }
    clearTimeout(hung);
    // Everything is closed; a stray handle left behind must not keep the process alive.
    setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  // SIGHUP reloads the config file. (Its default action would end the process: never let it.)
  process.on('SIGHUP', () => {
    if (stopping) return;
    app.log.info({ config: configPath }, 'SIGHUP received: reloading the config');
    try {
      app.services.reload(loadConfigFile(configPath));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      app.log.error({ err: message }, 'config reload failed: still serving with the previous config');
    }
  });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`ai-gateway: ${err.message}\n`);
  } else {
    process.stderr.write(`ai-gateway: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
});
