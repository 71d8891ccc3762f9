/** Who is logged in on this page. */
export interface Player {
  uid: string;
  username: string;
}
