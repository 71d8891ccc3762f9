/**
 * Open connections per client address on one gateway (`gateway.maxConnectionsPerAddress`).
 * In memory and per gateway: a connection lives on one gateway, so there is nothing to share.
 * An address leaves the map when its last connection closes, so the map never holds more
 * entries than the gateway holds connections.
 */
export class AddressCounter {
  /** Most connections per address; 0 = no limit. */
  readonly limit: number;
  private readonly counts = new Map<string, number>();

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Counts a new connection from `address`; false (and nothing counted) when it is at the limit. */
  open(address: string): boolean {
    if (this.limit <= 0) return true;
    const n = this.counts.get(address) ?? 0;
    if (n >= this.limit) return false;
    this.counts.set(address, n + 1);
    return true;
  }

  /** Forgets one connection of `address` (one that `open` accepted). */
  close(address: string): void {
    if (this.limit <= 0) return;
    const n = this.counts.get(address);
    if (n === undefined) return;
    if (n <= 1) this.counts.delete(address);
    else this.counts.set(address, n - 1);
  }

  /** Connections counted for `address`. */
  count(address: string): number {
    return this.counts.get(address) ?? 0;
  }

  /** Addresses with at least one counted connection. */
  get addresses(): number {
    return this.counts.size;
  }
}
