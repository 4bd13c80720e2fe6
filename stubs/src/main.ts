/**
 * Entry point of the stubs runtime image: `SERVICE` picks the platform service to run.
 * Bad settings exit 2 before anything listens; SIGTERM lets in-flight requests finish.
 */
import { createStubApp, migrateUntilDone, type StubDefinition } from './runtime/app.js';
import { loadSettings, SettingsError, type StubService } from './runtime/settings.js';
import { alertReceiver } from './services/alert-receiver.js';
import { auth } from './services/auth.js';
import { events } from './services/events.js';
import { frontend } from './services/frontend.js';
import { ivor } from './services/ivor.js';
import { newsroom } from './services/newsroom.js';

export const DEFINITIONS: Readonly<Record<StubService, StubDefinition>> = {
  ivor,
  events,
  newsroom,
  frontend,
  auth,
  'alert-receiver': alertReceiver,
};

async function main(): Promise<void> {
  let settings;
  try {
    settings = loadSettings();
  } catch (error) {
    if (error instanceof SettingsError) {
      console.error(error.message);
      process.exit(error.exitCode);
    }
    throw error;
  }
  const definition = DEFINITIONS[settings.service];
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

await main();
