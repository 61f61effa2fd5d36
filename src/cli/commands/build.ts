import type { CommandModule } from "yargs";
import { VerificationError } from "../../errors.js";
import type { Io } from "../io.js";
import { checkImages } from "./check.js";
import { setOption, type SetArgs } from "./options.js";

interface Args extends SetArgs {
  image: string;
}

export function buildCommand(io: Io): CommandModule<object, Args> {
  return {
    command: "build <image>",
    describe: "Build an image into a hybrid live ISO",
    builder: (y) =>
      setOption(
        y
          .positional("image", { type: "string", demandOption: true, describe: "image name or path" })
          .example("$0 build live-minimal", "build the default image"),
      ) as never,
    handler: (a) => {
      checkImages([a.image], a.set ?? [], io);
      // The build pipeline (bootstrap, customize, boot, squash, iso) is not part
      // of this version yet; say so rather than pretend.
      throw new VerificationError(
        "this version of vmlive checks images but cannot build them yet: the build pipeline is not implemented",
        "`vmlive check` validated the image; nothing was built",
      );
    },
  };
}
