#!/usr/bin/env node
// A Node.js client of the PM Exports gRPC API built from proto/ alone (no generated code, no Python):
// lists the templates, then runs an export and prints its progress events, one JSON object per line.
//
//   npm ci
//   PM_EXPORTS_API_KEY=pmx_... node example.js [--target 127.0.0.1:50051] [--template "Standard CSV"]
//
// Output: {"templates": [...]} then one {"event": {...}} per job event; exit code 0 when the job succeeded.
"use strict";

const path = require("node:path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

function parseArgs(argv) {
  const args = { target: process.env.PM_EXPORTS_TARGET || "127.0.0.1:50051", template: "Standard CSV" };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, "");
    if (!(name in args) || argv[i + 1] === undefined) {
      throw new Error(`unknown or incomplete option ${argv[i]}`);
    }
    args[name] = argv[i + 1];
  }
  return args;
}

function loadApi() {
  const protoRoot = process.env.PM_EXPORTS_PROTO_DIR || path.join(__dirname, "..", "..", "proto");
  const definition = protoLoader.loadSync(
    ["pm/exports/v1/exports.proto", "pm/exports/v1/catalog.proto"],
    { includeDirs: [protoRoot], keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true },
  );
  return grpc.loadPackageDefinition(definition).pm.exports.v1;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const apiKey = process.env.PM_EXPORTS_API_KEY;
  if (!apiKey) {
    console.error("set PM_EXPORTS_API_KEY (pm-exports apikey create --name node --role manager)");
    process.exit(2);
  }
  const api = loadApi();
  const client = new api.ExportService(args.target, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${apiKey}`);

  client.ListTemplates({}, metadata, { deadline: Date.now() + 10000 }, (err, response) => {
    if (err) {
      console.error(`ListTemplates failed: ${grpc.status[err.code]}: ${err.details}`);
      process.exit(1);
    }
    console.log(JSON.stringify({ templates: response.templates.map((t) => ({ name: t.name, format: t.format })) }));

    let last = null;
    const stream = client.RunExport({ export: { template: args.template } }, metadata);
    stream.on("data", (event) => {
      last = event;
      console.log(JSON.stringify({ event }));
    });
    stream.on("error", (e) => {
      console.error(`RunExport failed: ${grpc.status[e.code]}: ${e.details}`);
      process.exit(1);
    });
    stream.on("end", () => {
      client.close();
      process.exit(last && last.status === "JOB_STATUS_SUCCEEDED" ? 0 : 1);
    });
  });
}

main();
