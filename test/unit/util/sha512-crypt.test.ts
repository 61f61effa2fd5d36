import { describe, expect, it } from "vitest";
import { saltFrom, sha512Crypt } from "../../../src/util/sha512-crypt.js";

describe("sha512Crypt", () => {
  // Drepper's test vector, and two that `openssl passwd -6 -salt SALT PASSWORD` gave.
  it("gives what glibc and openssl give", () => {
    expect(sha512Crypt("Hello world!", "saltstring")).toBe(
      "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
    );
    expect(
      sha512Crypt(
        "a much longer password than sixty-four bytes to check the repeat path, yes indeed it is",
        "ab",
      ),
    ).toBe("$6$ab$RlelHMcr3HilHW6Rpm1a2owHRL3fZ82dIDRanBq7Qp2.uj/nE/9HcWXRo7gZqDVFBCbMmLiXKYwvc43at3uDx1");
  });
  it("refuses a salt crypt(5) cannot carry", () => {
    expect(() => sha512Crypt("x", "bad$salt")).toThrow(/salt/);
  });
});

describe("saltFrom", () => {
  it("is the same for the same text and differs otherwise", () => {
    expect(saltFrom("a")).toBe(saltFrom("a"));
    expect(saltFrom("a")).not.toBe(saltFrom("b"));
    expect(saltFrom("a")).toMatch(/^[./0-9A-Za-z]{16}$/);
  });
});
