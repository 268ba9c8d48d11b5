// The legacy `/ingest?name=app.name{k=v,k2=v2}` parameter.
//
// Character rules are Pyroscope's (api/model/labelset): the app name allows
// [A-Za-z0-9_./-], label names [A-Za-z0-9_.], values anything but `,` and `}`;
// names and values are trimmed. Pyroscope's parser silently drops malformed
// pieces (a pair without `=`, text after `}`, an unclosed `{`); Kiln rejects
// them instead so a typo gets an answer rather than lost labels.
// Dots in label names are kept here: the distributor sanitises them later.

import { IngestError, quoteInput } from './errors.js';

export interface LegacyName {
  /** The part before `{`, trimmed; may contain dots (`my.app.cpu`). */
  appName: string;
  /** Tags in order of first appearance; a repeated key keeps the last value. */
  labels: [string, string][];
}

const APP_NAME_RE = /^[A-Za-z0-9_./-]+$/;
const LABEL_NAME_RE = /^[A-Za-z0-9_.]+$/;
// Control characters would corrupt label storage and logs; nothing legitimate sends them.
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

function fail(name: string, why: string): never {
  throw new IngestError(400, `invalid name parameter ${quoteInput(name)}: ${why}`, 'invalid_labels');
}

export function parseLegacyName(name: string): LegacyName {
  if (name.trim() === '') {
    throw new IngestError(400, 'name parameter is required', 'invalid_labels');
  }
  const open = name.indexOf('{');
  const close = name.indexOf('}', open + 1);
  if (close >= 0 && (open < 0 || name.lastIndexOf('}', open) >= 0)) fail(name, "unbalanced braces: '}' without '{'");
  if (open >= 0 && close < 0) fail(name, "unbalanced braces: '{' is not closed");
  const appName = (open < 0 ? name : name.slice(0, open)).trim();
  if (appName === '') fail(name, 'app name is empty');
  if (!APP_NAME_RE.test(appName)) {
    fail(name, `app name ${quoteInput(appName)} has a character that is not allowed (allowed: A-Z a-z 0-9 _ . / -)`);
  }
  if (open < 0) return { appName, labels: [] };

  if (name.slice(close + 1).trim() !== '') fail(name, "unexpected text after '}'");
  const inner = name.slice(open + 1, close);
  if (inner.includes('{')) fail(name, "unbalanced braces: nested '{'");

  const labels = new Map<string, string>();
  if (inner.trim() !== '') {
    const pairs = inner.split(',');
    // A trailing comma (`{a=b,}`) is tolerated, as Pyroscope does.
    if (pairs.length > 1 && pairs[pairs.length - 1]!.trim() === '') pairs.pop();
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      if (eq < 0) fail(name, `tag ${quoteInput(pair.trim())} has no '='`);
      const key = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (key === '') fail(name, `tag ${quoteInput(pair.trim())} has an empty name`);
      if (!LABEL_NAME_RE.test(key)) {
        fail(name, `tag name ${quoteInput(key)} has a character that is not allowed (allowed: A-Z a-z 0-9 _ .)`);
      }
      if (key === '__name__') fail(name, 'tag name "__name__" is reserved');
      if (CONTROL_RE.test(value)) fail(name, `value of tag ${quoteInput(key)} has a control character`);
      labels.set(key, value);
    }
  }
  // An empty value means "no label" in the Prometheus data model, so it is dropped
  // (after a later duplicate had the chance to override an earlier value).
  return { appName, labels: [...labels].filter(([, v]) => v !== '') };
}
