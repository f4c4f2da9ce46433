/** One problem with caller input: its property path, and a message that says the value, what is allowed and the fix. */
export interface InputProblem {
  /** Property path, e.g. `gpus.0` or `scaling.minSize`; empty for the input as a whole. */
  path: string;
  message: string;
}

/** Bad input, with every problem found at once. Raised before anything is created. */
export class InputError extends Error {
  constructor(
    /** What was given the input, e.g. `GpuNodeGroup "r1"`. */
    readonly subject: string,
    readonly problems: readonly InputProblem[],
  ) {
    super(`${subject}: invalid input\n` + problems.map((p) => `  ${p.path || "(input)"}: ${p.message}`).join("\n"));
    this.name = "InputError";
  }
}
