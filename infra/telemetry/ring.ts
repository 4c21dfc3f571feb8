/** A fixed number of the latest items: adding one past the capacity overwrites the oldest. */
export class Ring<T> {
  readonly #items: (T | undefined)[];
  #next = 0;
  #added = 0;

  constructor(readonly capacity: number) {
    this.#items = new Array<T | undefined>(capacity);
  }

  add(item: T): void {
    this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.capacity;
    this.#added += 1;
  }

  /** How many were ever added (those past the capacity are gone). */
  get added(): number {
    return this.#added;
  }

  /** The items held, oldest first. */
  items(): T[] {
    const held = Math.min(this.#added, this.capacity);
    const out: T[] = [];
    for (let i = held; i > 0; i -= 1) out.push(this.#items[(this.#next - i + this.capacity) % this.capacity] as T);
    return out;
  }
}
