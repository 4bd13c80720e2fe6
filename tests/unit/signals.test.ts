import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

describe('Ctrl-C in the deploy and drill CLIs (abortOnSignals)', () => {
  it('GIVEN one Ctrl-C delivered twice within milliseconds (process group + tsx relay) THEN the work is aborted once, not quit; a later one quits with 130', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'tests/fixtures/signals/abort-on-signals.ts')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const until = async (text: string) => {
      for (let tries = 0; tries < 100 && !output.includes(text); tries += 1) await new Promise((resolve) => setTimeout(resolve, 50));
    };
    await until('ready');
    child.kill('SIGINT');
    child.kill('SIGINT');
    await until('aborted');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(child.exitCode).toBeNull();
    expect(output.match(/SIGINT: putting things back \(send again to quit at once, leaving things as they are\)/g)).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 900));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
  }, 15_000);
});
