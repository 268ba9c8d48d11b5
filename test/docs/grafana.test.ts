// The Grafana files in docs/grafana/ are part of the product: the provisioning must point at the
// API Kiln serves, every panel query must be valid PromQL for our parser, and every Kiln metric a
// panel plots must be one a running Kiln exports.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseExpr } from '../../src/tsdb/promql/parser.js';
import { startKiln, type KilnProcess } from '../helpers/kiln-process.js';

const GRAFANA = path.resolve(import.meta.dirname, '../../docs/grafana');

interface Target {
  expr: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  title: string;
  type: string;
  datasource?: { uid: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query: { query: string } }> };
}

const dashboards = readdirSync(path.join(GRAFANA, 'dashboards'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, json: JSON.parse(readFileSync(path.join(GRAFANA, 'dashboards', f), 'utf8')) as Dashboard }));

const datasource = parseYaml(readFileSync(path.join(GRAFANA, 'provisioning/datasources/kiln.yaml'), 'utf8')) as {
  datasources: Array<{ uid: string; type: string; url: string; jsonData: { httpMethod: string } }>;
};

/** Grafana's built-in and dashboard variables, replaced by values of the kind Grafana sends ("All" for variables). */
function interpolate(expr: string): string {
  return expr
    .replace(/\$metric\b/g, 'profiles_recorded_.+')
    .replace(/\$__rate_interval/g, '1m')
    .replace(/\$__interval/g, '15s')
    .replace(/\$__range/g, '6h')
    .replace(/\$\{?(\w+)\}?/g, '.*');
}

function panelTargets(d: Dashboard): Array<{ panel: string; expr: string; uid: string }> {
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr, uid: t.datasource.uid })));
}

describe('docs/grafana', () => {
  it('provisions a Prometheus data source at /prometheus with POST queries', () => {
    const [ds] = datasource.datasources;
    expect(ds?.type).toBe('prometheus');
    expect(new URL(ds!.url).pathname).toBe('/prometheus');
    expect(ds?.jsonData.httpMethod).toBe('POST');
  });

  it('has both dashboards', () => {
    expect(dashboards.map((d) => d.json.uid).sort()).toEqual(['kiln-operations', 'kiln-profiles-recorded']);
  });

  for (const { file, json } of dashboards) {
    it(`${file}: every panel uses the provisioned data source`, () => {
      const targets = panelTargets(json);
      expect(targets.length).toBeGreaterThan(3);
      for (const t of targets) expect(t.uid, t.panel).toBe(datasource.datasources[0]!.uid);
    });

    it(`${file}: every panel and variable query is valid PromQL`, () => {
      for (const t of panelTargets(json)) expect(() => parseExpr(interpolate(t.expr)), `${t.panel}: ${t.expr}`).not.toThrow();
      for (const v of json.templating.list) {
        // label_values(<selector>, <label>): the selector part must parse.
        const m = /^label_values\((.*),\s*(\w+)\)$/.exec(v.query.query);
        expect(m, v.query.query).not.toBeNull();
        expect(() => parseExpr(interpolate(m![1]!))).not.toThrow();
      }
    });
  }

  it('the recorded-metrics dashboard never applies rate() or increase() to recorded series', () => {
    const d = dashboards.find((x) => x.json.uid === 'kiln-profiles-recorded')!.json;
    for (const t of panelTargets(d)) {
      expect(t.expr).toMatch(/\b(sum|last)_over_time\(/);
      expect(t.expr).not.toMatch(/\b(rate|increase|irate)\(/);
    }
  });

  describe('operations dashboard metrics exist', () => {
    let kiln: KilnProcess;
    beforeAll(async () => {
      kiln = await startKiln();
    }, 60_000);
    afterAll(() => kiln?.stop());

    it('every kiln_* metric plotted is exported by a running Kiln (-target=all)', async () => {
      const exposition = await (await fetch(`${kiln.url}/metrics`)).text();
      const families = new Set([...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
      const d = dashboards.find((x) => x.json.uid === 'kiln-operations')!.json;
      const used = new Set(panelTargets(d).flatMap((t) => [...t.expr.matchAll(/\bkiln_\w+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''))));
      expect(used.size).toBeGreaterThan(15);
      const missing = [...used].filter((n) => !families.has(n));
      expect(missing).toEqual([]);
    });
  });
});
