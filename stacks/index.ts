// Entry point of the Pulumi program (Pulumi.yaml `main`); its exports are the stack outputs.
import { runProgram } from "./program";

export = runProgram();
