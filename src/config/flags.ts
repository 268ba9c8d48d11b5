// Parses command-line flags and the YAML config file into a Config.
// Flags follow Go's flag package conventions, as Pyroscope and Mimir do:
// `-name=value`, `-name value`, `--name=value`; a bool flag alone means true.

import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { type Config, type FlagDef, FLAGS, TARGETS, configPath, defaultConfig, getPath, setPath, yamlPath } from './config.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go duration syntax ("500ms", "1h30m", "10s", "0") → milliseconds. */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * UNITS_MS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== s.length) throw new Error(`invalid duration "${text}" (use e.g. 500ms, 10s, 1h30m)`);
  return total;
}

/** Milliseconds → compact Go-like duration ("500ms", "1h", "1m30s"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let out = '';
  let rest = ms;
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return rest > 0 ? `${out}${rest}ms` : out;
}

function parseValue(def: FlagDef, raw: unknown, where: string): unknown {
  const bad = (why: string) => new ConfigError(`invalid value ${JSON.stringify(raw)} for ${where}: ${why}`);
  const text = typeof raw === 'string' ? raw.trim() : raw;
  switch (def.kind) {
    case 'string':
      if (typeof text === 'string') return text;
      if (typeof text === 'number' || typeof text === 'boolean') return String(text);
      throw bad('expected a string');
    case 'int': {
      const n = typeof text === 'number' ? text : typeof text === 'string' && /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
      if (!Number.isSafeInteger(n)) throw bad('expected an integer');
      if (n < (def.min ?? 0)) throw bad(def.min ? `must be at least ${def.min}` : 'must not be negative');
      if (def.max !== undefined && n > def.max) throw bad(`must be at most ${def.max}`);
      return n;
    }
    case 'float': {
      const n = typeof text === 'number' ? text : typeof text === 'string' && text !== '' ? Number(text) : NaN;
      if (!Number.isFinite(n)) throw bad('expected a number');
      if (n < 0) throw bad('must not be negative');
      return n;
    }
    case 'bool':
      if (typeof text === 'boolean') return text;
      // Go's strconv.ParseBool spellings, as Pyroscope's flags accept them.
      if (typeof text === 'string' && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
      if (typeof text === 'string' && ['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
      throw bad('expected true or false');
    case 'duration':
      if (typeof text === 'number' && text === 0) return 0;
      if (typeof text !== 'string') throw bad('expected a duration such as 500ms or 1h');
      try {
        return parseDuration(text);
      } catch (e) {
        throw bad((e as Error).message);
      }
    case 'enum':
      if (typeof text === 'string' && def.values!.includes(text)) return text;
      throw bad(`must be one of ${def.values!.join(', ')}`);
    case 'targets': {
      const list = Array.isArray(text) ? text.map(String) : typeof text === 'string' ? text.split(',') : null;
      if (!list) throw bad('expected a comma-separated list');
      const targets = list.map((t) => t.trim()).filter((t) => t !== '');
      if (targets.length === 0) throw bad('at least one target is required');
      for (const t of targets) if (!(TARGETS as readonly string[]).includes(t)) throw bad(`unknown target "${t}"; valid targets: ${TARGETS.join(', ')}`);
      return targets;
    }
  }
}

const BY_NAME = new Map<string, FlagDef>();
for (const f of FLAGS) for (const n of [f.name, ...(f.aliases ?? [])]) BY_NAME.set(n, f);

export interface ParsedArgs {
  config: Config;
  help: boolean;
  /** Arguments that are not flags (subcommand arguments). */
  positional: string[];
}

/** Parses flags and the YAML file they name; throws ConfigError with a clear message. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const flagValues: [FlagDef, unknown, string][] = [];
  const positional: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-' ) {
      positional.push(arg);
      continue;
    }
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    if (name === 'help' || name === 'h') {
      help = true;
      continue;
    }
    const def = BY_NAME.get(name);
    if (!def) throw new ConfigError(`flag provided but not defined: -${name} (see -help for the list of flags)`);
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (def.kind === 'bool') value = 'true';
    else if (i + 1 < argv.length) value = argv[++i]!;
    else throw new ConfigError(`flag needs an argument: -${name}`);
    flagValues.push([def, value, `flag -${name}`]);
  }

  const config = defaultConfig();
  const fileFlag = flagValues.find(([def]) => def.name === 'config.file');
  if (fileFlag) {
    const file = String(fileFlag[1]);
    if (file !== '') applyYaml(config, file);
  }
  for (const [def, raw, where] of flagValues) setPath(config, configPath(def.name), parseValue(def, raw, where));
  return { config, help, positional };
}

function applyYaml(config: Config, file: string): void {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`cannot load config file ${file}: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config file ${file}: expected a mapping at the top level`);
  const known = new Set(FLAGS.map((f) => yamlPath(f.name).join('.')));
  const walk = (node: Record<string, unknown>, prefix: string[]) => {
    for (const [key, value] of Object.entries(node)) {
      const path = [...prefix, key];
      const dotted = path.join('.');
      if (known.has(dotted)) {
        const def = FLAGS.find((f) => yamlPath(f.name).join('.') === dotted)!;
        setPath(config, configPath(def.name), parseValue(def, value, `${dotted} in ${file}`));
      } else if (value !== null && typeof value === 'object' && !Array.isArray(value) && [...known].some((k) => k.startsWith(`${dotted}.`))) {
        walk(value as Record<string, unknown>, path);
      } else {
        throw new ConfigError(`config file ${file}: unknown key ${dotted}`);
      }
    }
  };
  walk(doc as Record<string, unknown>, []);
}

/** The -help text: every flag with its default. */
export function usage(command = 'kiln serve'): string {
  const defaults = defaultConfig();
  const lines = [`Usage: ${command} [flags]`, '', 'Flags (also accepted as --flag; YAML keys in -config.file use the same names, dots nesting, dashes as underscores):'];
  for (const f of FLAGS) {
    const value = getPath(defaults, configPath(f.name));
    const shown = f.kind === 'duration' ? formatDuration(value as number) : Array.isArray(value) ? value.join(',') : JSON.stringify(value);
    const type = f.kind === 'enum' ? f.values!.join('|') : f.kind === 'targets' ? 'list' : f.kind;
    lines.push(`  -${f.name} ${type}`);
    lines.push(`      ${f.help} (default ${shown})`);
  }
  return lines.join('\n');
}
