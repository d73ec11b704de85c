/**
 * Run the development SCR on its own: `npx tsx scripts/dev-scr.ts [port]` (default DEV_SCR_PORT, else 8103).
 * For development only: in memory, no authentication, loopback.
 */
import { startDevScr } from '../src/devscr';
import { createLogger } from '../src/observability/logger';

async function main(): Promise<void> {
  const arg = process.argv[2] ?? process.env.DEV_SCR_PORT;
  const port = arg === undefined ? 8103 : Number(arg);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`Port must be a whole number from 0 to 65535, got "${arg}"`);
    process.exit(2);
  }
  const logger = createLogger(process.env.LOG_LEVEL ?? 'info');
  const scr = await startDevScr({ port, logger });
  console.log(`Development SCR (for development only) at ${scr.baseUrl}`);
  const stop = (): void => {
    scr.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
