// The pipeline, in order: this array is the only place the order is written.
import type { Step } from "../pipeline/steps.js";
import { bootstrapStep } from "./bootstrap.js";
import { customizeStep } from "./customize.js";
import { checkStep } from "./check.js";
import { bootStep } from "./boot.js";
import { squashStep } from "./squash.js";
import { isoStep } from "./iso.js";
import { verifyStep } from "./verify.js";
import { collectStep } from "./collect.js";

export const STEPS: readonly Step[] = [
  bootstrapStep,
  customizeStep,
  checkStep,
  bootStep,
  squashStep,
  isoStep,
  verifyStep,
  collectStep,
];
