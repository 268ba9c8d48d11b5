// docs/configuration.md must document every flag with its YAML key and default.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FLAGS, configPath, defaultConfig, getPath, yamlPath } from '../../src/config/config.js';
import { formatDuration } from '../../src/config/flags.js';

const doc = readFileSync(path.resolve(import.meta.dirname, '../../docs/configuration.md'), 'utf8');

describe('docs/configuration.md', () => {
  it.each(FLAGS.map((f) => [f.name, f] as const))('documents -%s', (_, f) => {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`-${f.name}\` |`));
    expect(row, `no table row for -${f.name}`).toBeDefined();
    expect(row).toContain(`\`${yamlPath(f.name).join('.')}\``);
    const v = getPath(defaultConfig(), configPath(f.name));
    const shown = f.kind === 'duration' ? formatDuration(v as number) : Array.isArray(v) ? v.join(',') : v === '' ? '""' : String(v);
    expect(row).toContain(`\`${shown}\``);
  });
});
