import { loadConfig } from './runners/gen.js';
import { defaultTarget } from './runners/stack.js';
import { containerOf } from './runners/backup.js';
import { createIsolatedCluster, removeIsolatedCluster, restoreFiles, restoredQuery, startRestored } from './runners/drill/restore-cluster.js';
const config = await loadConfig();
const target = defaultTarget();
const s3 = await containerOf(target, 's3');
const c = await createIsolatedCluster(target, config, 'parity-restore-try', s3);
try {
  const t0 = performance.now();
  const ms = await restoreFiles(c, [], (l) => console.log('  ' + l.slice(0, 160)));
  console.log('files', ms);
  await startRestored(c, 120000);
  console.log('ready', performance.now() - t0);
  console.log(await restoredQuery(c, "select pg_last_committed_xact(), (select count(*) from pg_tables)"));
} finally {
  console.log(await removeIsolatedCluster(c, s3));
}
