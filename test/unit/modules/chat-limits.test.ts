import { describe, expect, it } from "vitest";
import { checkText } from "../../../modules/chat/send-limit.js";
import { pageSize } from "../../../modules/chat/stream-page.js";

describe("chat text and page limits", () => {
  it("trims the text and counts characters, not UTF-16 units", () => {
    expect(checkText("  hi  ", 5)).toBe("hi");
    expect(checkText("🎲🎲🎲", 3)).toBe("🎲🎲🎲");
    expect(() => checkText("🎲🎲🎲🎲", 3)).toThrow("message text is 4 characters long; at most 3 are allowed");
    expect(() => checkText(" \n\t ", 3)).toThrow(expect.objectContaining({ code: "BAD_REQUEST", message: "message text is empty: send 1 or more characters" }));
  });

  it("0 means the default page, capped by the largest; above the largest is refused", () => {
    expect(pageSize(0, 50, 500)).toBe(50);
    expect(pageSize(0, 800, 500)).toBe(500);
    expect(pageSize(500, 50, 500)).toBe(500);
    expect(() => pageSize(501, 50, 500)).toThrow(expect.objectContaining({ code: "BAD_REQUEST" }));
  });
});
