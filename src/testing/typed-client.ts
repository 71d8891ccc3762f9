import type { Client, RequestOptions } from "../client/index.js";

/** Request message of `route` in a route map shaped like the generated `Routes`. */
export type RequestIn<R, K extends keyof R> = R[K] extends { req: infer Q } ? Q : never;
/** Reply message of `route` in a route map shaped like the generated `Routes`. */
export type ReplyIn<R, K extends keyof R> = R[K] extends { res: infer S } ? S : never;

/**
 * An SDK client whose `request` and `notify` are typed by a project's own generated `Routes`
 * (framework routes plus the project's). The object is the SDK's {@link Client}.
 */
export interface TypedClient<R> extends Omit<Client, "request" | "notify"> {
  request<K extends keyof R & string>(route: K, msg: Partial<RequestIn<R, K>>, opts?: RequestOptions): Promise<ReplyIn<R, K>>;
  notify<K extends keyof R & string>(route: K, msg: Partial<RequestIn<R, K>>): void;
}
