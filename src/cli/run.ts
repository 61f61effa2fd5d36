// The executable's body: run main() and exit with its code. The only process.exit.
import { main } from "./main.js";

process.exitCode = await main(process.argv.slice(2));
