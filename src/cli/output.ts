// Small helpers shared by the admin subcommands (kiln blocks, kiln jobs).

/** Value of `-name=v` / `--name=v` in args, or `fallback`. */
export function flagValue(args: string[], name: string, fallback: string): string {
  const prefix = new RegExp(`^--?${name}=`);
  const hit = args.find((a) => prefix.test(a));
  return hit ? hit.replace(prefix, '') : fallback;
}

/** Prints rows as left-aligned columns under `header`. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [header, ...rows]) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
}
