// The FakeMachine passes the Machine contract on the tests that scripted
// replies can honour: the replies below are what a real shell answers, and the
// fake must turn them into the same results, CommandErrors and sink lines as
// the host and VM backends do.
import { FakeMachine } from "../../support/fake-machine.js";
import { CONTRACT_COMMANDS as C, machineContract } from "../../support/machine-contract.js";

const same = (expected: readonly string[]) => (argv: readonly string[]) =>
  argv.length === expected.length && argv.every((a, i) => a === expected[i]);

machineContract(
  "FakeMachine",
  async () =>
    new FakeMachine()
      .on("echo", (argv) => ({ stdout: `${argv.slice(1).join(" ")}\n` }))
      .on(same(C.exit3), { exitCode: 3, stderr: "oops\n" })
      .on(same(C.missing), { exitCode: 127, stderr: `sh: 1: ${C.missing[0]}: not found\n` })
      .on(same(C.killed), { exitCode: 137, signal: "SIGKILL" })
      .on(same(C.lines), { stdout: "a\nb\nc\nlast without newline", stderr: "e1\ne2\n" }),
  { realCommands: false, files: false },
);
