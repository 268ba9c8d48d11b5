// The `kiln` command.
//   kiln serve [flags]   run Kiln (every component by default; -target picks some)
//   kiln blocks …        list and inspect stored blocks
//   kiln jobs list       compaction jobs of a running metastore
//   kiln rules …         a tenant's recording rules
//   kiln -help           this text

import { readFileSync } from 'node:fs';
import { ConfigError, parseArgs, usage } from '../config/flags.js';
import { blocksCommand } from './blocks.js';
import { jobsCommand } from './jobs.js';
import { UsageError } from './output.js';
import { rulesCommand } from './rules.js';
import { createLogger } from '../server/logger.js';
import { startKiln } from '../server/app.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const HELP = `kiln ${VERSION}: continuous profiles in, Prometheus metrics out.

Usage:
  kiln serve [flags]    run Kiln (all components on one port by default)
  kiln blocks list      list blocks registered in a running Kiln's metastore
  kiln blocks inspect F show the datasets and series of a block file
  kiln jobs list        list compaction jobs of a running Kiln's metastore
  kiln rules …          list, get, create, update, delete and apply a tenant's recording rules
  kiln version          print the version
  kiln serve -help      list every flag with its default
`;

async function serve(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (parsed.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (parsed.positional.length > 0) {
    process.stderr.write(`error: unexpected argument "${parsed.positional[0]}" (kiln serve takes only flags; see -help)\n`);
    return 2;
  }
  const logger = createLogger(parsed.config.log.level);
  // Handlers go in before start-up, so a signal during start-up still shuts down cleanly.
  let signalled!: () => void;
  const stopRequested = new Promise<void>((resolve) => (signalled = resolve));
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    logger.info({ signal }, 'received signal, shutting down');
    signalled();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  let kiln;
  try {
    kiln = await startKiln(parsed.config, logger);
  } catch (e) {
    logger.fatal({ err: (e as Error).message }, 'failed to start');
    return 1;
  }
  await stopRequested;
  try {
    await kiln.stop();
  } catch (e) {
    logger.error({ err: (e as Error).message }, 'shutdown failed');
    return 1;
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'blocks':
      return blocksCommand(rest);
    case 'jobs':
      return jobsCommand(rest);
    case 'rules':
      return rulesCommand(rest);
    case 'version':
    case '-version':
    case '--version':
      process.stdout.write(`kiln ${VERSION}\n`);
      return 0;
    case undefined:
    case 'help':
    case '-h':
    case '-help':
    case '--help':
      process.stdout.write(HELP);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`error: unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

process.exit(
  await main(process.argv.slice(2)).catch((e: Error) => {
    process.stderr.write(`error: ${e.message}\n`);
    // A bad command line exits 2, as Go's flag package does; a failed operation 1.
    return e instanceof UsageError ? 2 : 1;
  }),
);
