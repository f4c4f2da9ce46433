// vitest setupFiles: runs before each test file's imports, so every module that creates
// resources sees the mocks and the stack config (pulumi-notes: "Mocks: things that bite").
import { installMocks } from "./pulumi";

installMocks();
