// Label-name validation for label_replace, label_join (and count_values in the engine).

/**
 * Whether `name` is a valid label name under Prometheus 3.x's UTF-8 name validation: non-empty
 * valid UTF-8. A JavaScript string can only hold invalid UTF-8 as lone surrogates or as the
 * replacement character U+FFFD a decoder put in place of invalid bytes, so both count as invalid.
 */
export function isValidLabelName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0xfffd) return false;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = name.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}
