/**
 * The package's argument types against the stack config's zod schemas, the single source of the
 * config types: the same keys, and whatever the package accepts the stack config accepts. Checked
 * by `tsc` (npm test type-checks the tests); a drift fails the build.
 */
import { describe, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import type { Placement, Workload } from "../../components/deployment-spec";
import type { Calibration, PriceOverride, Serving } from "../../package/types";
import type { CalibrationSchema, PlacementSchema, ServingSchema, WorkloadSchema } from "../../stacks/config";
import type { PriceOverrideSchema } from "../../sizing";

type In<S extends z.ZodType> = z.input<S>;

describe("the package's argument types", () => {
  it("have the stack config's keys, and are accepted by its schemas", () => {
    expectTypeOf<keyof Workload>().toEqualTypeOf<keyof In<typeof WorkloadSchema>>();
    expectTypeOf<Workload>().toExtend<In<typeof WorkloadSchema>>();
    // A placement's region is the cluster's in a stack; a component may repeat it.
    expectTypeOf<Exclude<keyof Placement, "region">>().toEqualTypeOf<keyof In<typeof PlacementSchema>>();
    expectTypeOf<Omit<Placement, "region">>().toExtend<In<typeof PlacementSchema>>();
    expectTypeOf<keyof Calibration>().toEqualTypeOf<keyof In<typeof CalibrationSchema>>();
    expectTypeOf<Calibration>().toExtend<In<typeof CalibrationSchema>>();
    expectTypeOf<keyof PriceOverride>().toEqualTypeOf<keyof In<typeof PriceOverrideSchema>>();
    expectTypeOf<PriceOverride>().toExtend<In<typeof PriceOverrideSchema>>();
    // The stack's serving keys, plus what a stack takes elsewhere (secrets from config, the API key rule from its environment).
    expectTypeOf<Exclude<keyof Serving, "s3BucketPolicy" | "cacheSizeGiB" | "hfToken" | "apiKey" | "requireApiKey">>().toEqualTypeOf<keyof In<typeof ServingSchema>>();
  });
});
