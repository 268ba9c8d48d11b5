// Small helpers shared by the admin subcommands (kiln blocks, jobs, rules).

/** A command line the subcommand cannot run; main prints it as one `error:` line. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CommandArgs {
  /** Flag values by name (without dashes); booleans are "true". */
  flags: Map<string, string>;
  positional: string[];
}

/**
 * Go-style flags as `kiln serve` takes them: `-name=v`, `--name=v`, `-name v`; names in `bools`
 * take no value. Anything else starting with `-` is refused, so a typo never goes unnoticed.
 */
export function parseCommandArgs(args: readonly string[], known: { values: readonly string[]; bools?: readonly string[] }): CommandArgs {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    if (known.bools?.includes(name)) {
      flags.set(name, eq < 0 ? 'true' : body.slice(eq + 1));
    } else if (known.values.includes(name)) {
      if (eq >= 0) flags.set(name, body.slice(eq + 1));
      else if (i + 1 < args.length) flags.set(name, args[++i]!);
      else throw new UsageError(`flag needs an argument: -${name}`);
    } else {
      throw new UsageError(`flag provided but not defined: -${name}`);
    }
  }
  return { flags, positional };
}

/** Prints rows as left-aligned columns under `header`. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [header, ...rows]) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
}
