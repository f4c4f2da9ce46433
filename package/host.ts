/**
 * The plugin's entry (package.json `main`): Pulumi's nodejs language host requires this directory
 * when a program that added the package (`pulumi package add`) runs, and talks to the provider
 * over gRPC at the port `main` prints. `main` is the server `componentProviderHost` starts; it is
 * called with our provider because that one completes the schema (provider.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { LlmFleetProvider } from "./provider";

void pulumi.provider.main(new LlmFleetProvider(), process.argv.slice(2));
