import { describe, expect, it } from "vitest";
import { binfmtHandlerFor, foreignHandlers, parseBinfmtHandler } from "../../../src/host/binfmt.js";

const handler = (state: string, flags: string) =>
  `${state}\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: ${flags}\noffset 0\n` +
  "magic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n";

describe("parseBinfmtHandler", () => {
  it("reads an enabled handler with the F flag", () => {
    expect(parseBinfmtHandler(handler("enabled", "POCF"))).toEqual({
      enabled: true,
      interpreter: "/usr/libexec/qemu-binfmt/aarch64-binfmt-P",
      flags: "POCF",
      fixBinary: true,
    });
  });

  it("reads a disabled handler", () => {
    const h = parseBinfmtHandler(handler("disabled", "POCF"));
    expect(h.enabled).toBe(false);
    expect(h.fixBinary).toBe(true);
  });

  it("sees a missing F flag", () => {
    const h = parseBinfmtHandler(handler("enabled", "OC"));
    expect(h).toMatchObject({ enabled: true, flags: "OC", fixBinary: false });
  });

  it("copes with an empty flags line", () => {
    expect(parseBinfmtHandler("enabled\ninterpreter /usr/bin/qemu-arm\nflags: \noffset 0\n")).toMatchObject({
      flags: "",
      fixBinary: false,
    });
  });
});

describe("binfmtHandlerFor", () => {
  it("maps foreign architectures to their qemu-user handler on amd64", () => {
    expect(binfmtHandlerFor("arm64", "x64")).toBe("qemu-aarch64");
    expect(binfmtHandlerFor("armhf", "x64")).toBe("qemu-arm");
  });

  it("needs nothing for what the host runs natively (amd64 runs i386)", () => {
    expect(binfmtHandlerFor("amd64", "x64")).toBeUndefined();
    expect(binfmtHandlerFor("i386", "x64")).toBeUndefined();
    expect(binfmtHandlerFor("arm64", "arm64")).toBeUndefined();
  });

  it("needs qemu-x86_64 for amd64 images on an arm64 host", () => {
    expect(binfmtHandlerFor("amd64", "arm64")).toBe("qemu-x86_64");
  });

  it("lists the handlers an amd64 host should have", () => {
    expect(foreignHandlers("x64")).toEqual(["qemu-aarch64", "qemu-arm"]);
  });
});
