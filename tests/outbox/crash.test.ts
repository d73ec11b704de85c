import { spawn } from 'node:child_process';
import path from 'node:path';
import { SqliteOutbox } from '../../src/outbox/sqlite-outbox';
import { tempDir } from './submissions';

it('keeps every submission whose enqueue returned when the process is killed with SIGKILL', async () => {
  const tmp = tempDir();
  const file = tmp.file('outbox.sqlite');
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(__dirname, 'crash-writer.ts'), file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const acknowledged: string[] = [];
  let partial = '';
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited with ${code}`))));
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      acknowledged.push(...lines);
      if (acknowledged.length >= 300) child.kill('SIGKILL');
    });
  });

  const outbox = new SqliteOutbox(file);
  try {
    const missing: string[] = [];
    for (const id of acknowledged) if ((await outbox.get(id))?.state !== 'queued') missing.push(id);
    expect(acknowledged.length).toBeGreaterThanOrEqual(300);
    expect(missing).toEqual([]);
  } finally {
    await outbox.close();
    tmp.remove();
  }
}, 30000);
