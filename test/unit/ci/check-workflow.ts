// Checks GitHub Actions workflow files with GitHub's own parser
// (@actions/workflow-parser, which holds the workflow schema github.com
// checks against, and knows which contexts each expression may use).
// Prints one JSON array per file: the errors, empty when the file is good.
// It imports a JSON module without an import attribute, which Node.js
// refuses and tsx allows: the tests run it with tsx, as a child process.
import { readFileSync } from "node:fs";
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";

const out: Record<string, string[]> = {};
for (const file of process.argv.slice(2)) {
  const parsed = parseWorkflow(
    { name: file, content: readFileSync(file, "utf8") },
    new NoOperationTraceWriter(),
  );
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  // Converting checks what parsing alone does not: job ids named by needs, expression syntax.
  if (parsed.value) {
    const template = await convertWorkflowTemplate(parsed.context, parsed.value);
    for (const e of template.errors ?? []) if (!errors.includes(e.Message)) errors.push(e.Message);
  }
  out[file] = errors;
}
process.stdout.write(JSON.stringify(out));
