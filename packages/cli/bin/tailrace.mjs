#!/usr/bin/env node
// A committed shim so pnpm can link the bin before the first build.
import "../dist/main.js";
