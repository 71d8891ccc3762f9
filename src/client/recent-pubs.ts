import { MAX_RECENT_PUBS } from "../protocol/packet.js";

/**
 * The publication ids (wire.Packet.pub) of the last channel pushes received, oldest first, at
 * most MAX_RECENT_PUBS: sent with login.Resume so that the channel messages replayed after the
 * death of the client's gateway leave out those it already has.
 */
export class RecentPubs {
  private readonly ring: string[] = [];
  private next = 0;

  add(pub: string): void {
    if (this.ring.length < MAX_RECENT_PUBS) this.ring.push(pub);
    else {
      this.ring[this.next] = pub;
      this.next = (this.next + 1) % MAX_RECENT_PUBS;
    }
  }

  /** Oldest first. */
  list(): string[] {
    return this.next === 0 ? [...this.ring] : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }

  clear(): void {
    this.ring.length = 0;
    this.next = 0;
  }
}
