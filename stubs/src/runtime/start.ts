/**
 * Running one platform service: what every service's entry (`stubs/src/entries/<service>.ts`)
 * does. Bad settings exit 2 before anything listens; SIGTERM lets in-flight requests finish.
 */
import { createStubApp, migrateUntilDone, type StubDefinition } from './app.js';
import { loadSettings, SettingsError, type Settings, type StubService } from './settings.js';

/**
 * The settings, or exit 2 listing every problem. Each bundle runs one service, so a `SERVICE`
 * naming another is a settings problem too (the launcher never does that; a hand-run bundle may).
 */
function settingsFor(service: StubService): Settings {
  try {
    const settings = loadSettings();
    if (settings.service !== service) throw new SettingsError([`SERVICE: this bundle runs ${service} (got "${settings.service}")`]);
    return settings;
  } catch (error) {
    if (error instanceof SettingsError) {
      console.error(error.message);
      process.exit(error.exitCode);
    }
    throw error;
  }
}

export async function runStub(service: StubService, definition: StubDefinition): Promise<void> {
  const settings = settingsFor(service);
  const { app, context } = createStubApp(settings, definition);
  const log = (message: string) => console.log(`${settings.service}[${settings.color}@${settings.version}]: ${message}`);
  const abort = new AbortController();
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    abort.abort();
    log(`${signal}: finishing in-flight requests`);
    const started = Date.now();
    await app.close();
    log(`stopped after ${Date.now() - started} ms`);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  await app.listen({ host: '0.0.0.0', port: settings.port });
  log(`listening on :${settings.port}${settings.fault.errorRate || settings.fault.latencyMs ? ` with FAULT ${JSON.stringify(settings.fault)}` : ''}`);
  await migrateUntilDone(context, definition, log, abort.signal);
}
