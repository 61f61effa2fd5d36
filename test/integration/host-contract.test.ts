// HostMachine passes the Machine contract: real commands on this host, files
// under temporary folders.
import { HostMachine } from "../../src/machine/host.js";
import { machineContract } from "../support/machine-contract.js";

machineContract("HostMachine", async () => new HostMachine(), {
  realCommands: true,
  files: true,
  onIdle: true,
});
