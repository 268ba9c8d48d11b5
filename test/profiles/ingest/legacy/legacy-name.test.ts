import { describe, expect, it } from 'vitest';
import { IngestError } from '../../../../src/profiles/ingest/errors.js';
import { parseLegacyName } from '../../../../src/profiles/ingest/legacy-name.js';

function rejects(name: string, fragment: string): void {
  let caught: unknown;
  try {
    parseLegacyName(name);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(IngestError);
  const e = caught as IngestError;
  expect(e.status).toBe(400);
  expect(e.reason).toBe('invalid_labels');
  expect(e.message).toContain(fragment);
}

describe('parseLegacyName', () => {
  it('parses the name @pyroscope/nodejs 0.6.4 sends (spec ecosystem §7a)', () => {
    // The query value as URLSearchParams decodes it from the captured request line.
    const q = new URLSearchParams(
      'format=pprof&from=1795253221&name=eco-test-app{otel.scope.name=com.grafana.pyroscope/nodejs,otel.scope.version=0.6.4,process.runtime.name=nodejs,process.runtime.version=20.20.2,region=local,version=1.2.3}&spyName=nodespy&until=1795253224',
    );
    expect(parseLegacyName(q.get('name')!)).toEqual({
      appName: 'eco-test-app',
      labels: [
        ['otel.scope.name', 'com.grafana.pyroscope/nodejs'],
        ['otel.scope.version', '0.6.4'],
        ['process.runtime.name', 'nodejs'],
        ['process.runtime.version', '20.20.2'],
        ['region', 'local'],
        ['version', '1.2.3'],
      ],
    });
  });

  it('parses a percent-encoded name the same way', () => {
    const q = new URLSearchParams('name=eco-test-app%7Botel.scope.name%3Dcom.grafana.pyroscope%2Fnodejs%2Cregion%3Dlocal%7D');
    expect(parseLegacyName(q.get('name')!)).toEqual({
      appName: 'eco-test-app',
      labels: [
        ['otel.scope.name', 'com.grafana.pyroscope/nodejs'],
        ['region', 'local'],
      ],
    });
  });

  it('accepts a bare app name, dotted app names and empty braces', () => {
    expect(parseLegacyName('my.app.cpu')).toEqual({ appName: 'my.app.cpu', labels: [] });
    expect(parseLegacyName('app{}')).toEqual({ appName: 'app', labels: [] });
    expect(parseLegacyName('team/app_1-x{ }')).toEqual({ appName: 'team/app_1-x', labels: [] });
  });

  it('trims names and values, keeps "=" inside values, tolerates one trailing comma', () => {
    expect(parseLegacyName(' app { a = 1 , b=x=y ,}')).toEqual({
      appName: 'app',
      labels: [
        ['a', '1'],
        ['b', 'x=y'],
      ],
    });
  });

  it('drops empty values and lets a repeated key keep its last value', () => {
    expect(parseLegacyName('app{a=,b=2,c=1,c=3}')).toEqual({
      appName: 'app',
      labels: [
        ['b', '2'],
        ['c', '3'],
      ],
    });
    expect(parseLegacyName('app{a=1,a=}')).toEqual({ appName: 'app', labels: [] });
  });

  it('accepts values with spaces and non-ASCII characters', () => {
    expect(parseLegacyName('app{host=my host,city=Zürich}').labels).toEqual([
      ['host', 'my host'],
      ['city', 'Zürich'],
    ]);
  });

  it('rejects bad names with a message naming the problem', () => {
    rejects('', 'name parameter is required');
    rejects('   ', 'name parameter is required');
    rejects('{a=b}', 'app name is empty');
    rejects('my app', 'app name "my app" has a character that is not allowed');
    rejects('app:x{a=b}', 'not allowed');
    rejects('app{a=b', "'{' is not closed");
    rejects('app}', "'}' without '{'");
    rejects('app{a=b}}', "unexpected text after '}'");
    rejects('app{a=b}x', "unexpected text after '}'");
    rejects('app{a{=b}', "nested '{'");
    rejects('app{a}', 'tag "a" has no \'=\'');
    rejects('app{a=1,,b=2}', 'has no \'=\'');
    rejects('app{=1}', 'empty name');
    rejects('app{a-b=1}', 'tag name "a-b" has a character that is not allowed');
    rejects('app{__name__=x}', 'reserved');
    rejects('app{a=x\u0001y}', 'control character');
  });

  it('quotes the offending name in the message', () => {
    rejects('app{a}', 'invalid name parameter "app{a}": ');
  });
});
