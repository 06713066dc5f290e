// Checks AsyncAPI documents with AsyncAPI's own tools, offline: the official JSON Schema
// of the document's version (@asyncapi/specs, validated with ajv) and the parser
// (@asyncapi/parser, with its built-in rules). Usage: node validate.js FILE...
// Prints one JSON line per file: {file, version, schemaErrors, parserErrors, warnings}.
// Exit status: 0 when every file is valid and parses without errors, else 1.
"use strict";

const fs = require("fs");
const Ajv = require("ajv");
const addFormats = require("ajv-formats");
const specs = require("@asyncapi/specs");
const { Parser } = require("@asyncapi/parser");
const YAML = require("js-yaml");

function load(file) {
  const text = fs.readFileSync(file, "utf8");
  return { text, data: file.endsWith(".json") ? JSON.parse(text) : YAML.load(text) };
}

function schemaErrors(data) {
  const schema = specs.schemas[data.asyncapi];
  if (!schema) {
    return [{ instancePath: "/asyncapi", message: `no official schema for ${data.asyncapi}` }];
  }
  // a copy without the draft-07 meta-schema the file embeds: ajv has it already (as
  // @asyncapi/parser does it)
  const copy = JSON.parse(JSON.stringify(schema));
  delete copy.definitions["http://json-schema.org/draft-07/schema"];
  delete copy.definitions["http://json-schema.org/draft-04/schema"];
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
  addFormats(ajv);
  const validate = ajv.compile(copy);
  if (validate(data)) return [];
  return validate.errors.map((e) => ({
    instancePath: e.instancePath,
    message: e.message,
    params: e.params,
  }));
}

async function main() {
  const parser = new Parser();
  let ok = true;
  for (const file of process.argv.slice(2)) {
    const { text, data } = load(file);
    const errors = schemaErrors(data);
    const { diagnostics } = await parser.parse(text, { source: file });
    const parserErrors = diagnostics
      .filter((d) => d.severity === 0)
      .map((d) => ({ code: d.code, message: d.message, path: d.path.join("/") }));
    const warnings = diagnostics
      .filter((d) => d.severity === 1)
      .map((d) => ({ code: d.code, message: d.message, path: d.path.join("/") }));
    if (errors.length || parserErrors.length) ok = false;
    console.log(
      JSON.stringify({ file, version: data.asyncapi, schemaErrors: errors, parserErrors, warnings })
    );
  }
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(2);
});
