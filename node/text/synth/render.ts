/**
 * Fills template slots. See pack.ts for the slot syntax.
 */
import type { Forms, LangPack, PoolItem } from "./pack";
import type { Rng } from "./prng";

/** Values fixed for one sentence; anything else comes from the pack's pools or the built-ins. */
export type FixedSlots = Record<string, PoolItem>;

const SLOT = /\{(\w+)(?:\.(\w+))?\}/g;

function formOf(item: PoolItem, form: string | undefined, slot: string, template: string): string {
  if (typeof item === "string") {
    if (form !== undefined && form !== "n")
      throw new Error(`slot {${slot}.${form}} on a plain string in "${template}"`);
    return item;
  }
  const value = (item as Forms)[form ?? "n"];
  if (value === undefined) throw new Error(`form "${form}" missing for slot {${slot}} in "${template}"`);
  return value;
}

function builtin(name: string, pack: LangPack, rng: Rng): PoolItem | undefined {
  switch (name) {
    case "date": {
      const y = rng.int(2004, 2024);
      return pack.date(y, rng.int(1, 12), rng.int(1, 28));
    }
    case "year": {
      const y = String(rng.int(2004, 2024));
      return rng.pick(pack.yearPhrase).replace("#", y);
    }
    case "age":
      return String(rng.int(19, 94));
    case "days":
      return String(rng.int(2, 12));
    case "num":
      return String(rng.int(2, 9));
    default:
      return undefined;
  }
}

/** Upper-cases the first letter of a sentence. */
export function capitalize(s: string): string {
  const i = s.search(/\p{L}/u);
  if (i < 0) return s;
  const first = s.slice(0, i);
  // Only when the sentence starts with a letter or an opening mark before it.
  if (/[^\s("«“]/u.test(first)) return s;
  return first + s[i].toUpperCase() + s.slice(i + 1);
}

/**
 * Renders a template: fixed slots first, then pool slots (one value per `sticky` map, i.e. per note),
 * then built-ins (date, year, age, days, num); nested slots inside a slot
 * value (a device term with {side}) are filled too. Throws on an unknown slot or form (a pack bug).
 */
export function renderTemplate(
  template: string,
  fixed: FixedSlots,
  pack: LangPack,
  rng: Rng,
  sticky: Map<string, PoolItem> = new Map(),
): string {
  const chosen = new Map<string, PoolItem>();
  const resolve = (name: string): PoolItem => {
    const f = fixed[name];
    if (f !== undefined) return f;
    const pool = pack.pools[name];
    // Pool slots keep one value per note (region, age, diagnosis...); built-ins one value per sentence.
    const cache = pool || name === "age" ? sticky : chosen;
    let c = cache.get(name);
    if (c === undefined) {
      c = pool ? rng.pick(pool) : builtin(name, pack, rng);
      if (c === undefined) throw new Error(`unknown slot {${name}} in "${template}"`);
      cache.set(name, c);
    }
    return c;
  };
  let out = template;
  for (let pass = 0; pass < 4 && out.includes("{"); pass++) {
    out = out.replace(SLOT, (_m, raw: string, form: string | undefined) => {
      // "{Dev.n}" at a sentence start is the slot "dev"; capitalize() upper-cases the result.
      const name = raw[0].toLowerCase() + raw.slice(1);
      return formOf(resolve(name), form, name, template);
    });
  }
  if (out.includes("{")) throw new Error(`unfilled slot in "${template}" → "${out}"`);
  return capitalize(out.replace(/ {2,}/g, " ").replace(/ ([,.;:)])/g, "$1"));
}
