// The head's string table: every label name and value is stored once and series refer to
// strings by a small integer id. Ids are dense from 0, so a series' labels fit a Uint32Array
// and the postings index is keyed by integers rather than strings.
//
// The table only grows while the head runs; Head.truncate rebuilds it from the live series so
// strings of series that are gone do not accumulate.

export class SymbolTable {
  private readonly ids = new Map<string, number>();
  private readonly strings: string[] = [];

  get size(): number {
    return this.strings.length;
  }

  /** The id of `s`, or undefined if no series uses it (lookups must not grow the table). */
  get(s: string): number | undefined {
    return this.ids.get(s);
  }

  /** The id of `s`, adding it if new. */
  intern(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.strings.push(s) - 1;
      this.ids.set(s, id);
    }
    return id;
  }

  string(id: number): string {
    return this.strings[id]!;
  }
}
