import { parseRoute, serviceSubject } from "../bus/subjects.js";

/** What the gateway needs to know about a route, computed once per route. */
export interface RouteInfo {
  readonly route: string;
  readonly module: string;
  readonly method: string;
  /** `svc.<module>.<Method>`. */
  readonly subject: string;
  /** Callable before the session is bound. */
  readonly isPublic: boolean;
}

/** Routes kept by default; a hostile client sending random routes cannot grow the cache past it. */
export const DEFAULT_ROUTE_CACHE_SIZE = 4096;

/**
 * Parses routes into subjects once. Valid routes are cached up to a fixed count; past it they
 * are parsed on every call (still correct, just slower), so memory stays bounded.
 */
export class RouteCache {
  private readonly publicRoutes: ReadonlySet<string>;
  private readonly cache = new Map<string, RouteInfo>();
  private readonly capacity: number;

  constructor(publicRoutes: readonly string[], capacity = DEFAULT_ROUTE_CACHE_SIZE) {
    this.publicRoutes = new Set(publicRoutes);
    this.capacity = capacity;
  }

  /** Routes cached. */
  get size(): number {
    return this.cache.size;
  }

  /** Route info, or null when the route is not "<module>.<Method>" made of subject tokens. */
  lookup(route: string): RouteInfo | null {
    const hit = this.cache.get(route);
    if (hit !== undefined) return hit;
    const parsed = parseRoute(route);
    if (parsed === null) return null;
    const info: RouteInfo = {
      route,
      module: parsed.module,
      method: parsed.method,
      subject: serviceSubject(parsed.module, parsed.method),
      isPublic: this.publicRoutes.has(route),
    };
    if (this.cache.size < this.capacity) this.cache.set(route, info);
    return info;
  }
}
