// ESLint (flat config) for the TypeScript and JavaScript sources. Type-aware rules run on the
// two TypeScript programs (tsconfig.json: Node code; app/tsconfig.json: the web page); JavaScript
// files and the config files outside both programs get the syntactic rules only. Formatting is
// Prettier's (prettier.config.js), so no stylistic rule is on here.
// The types of the contracts come from `hardhat compile` (artifacts/**/*.d.ts): lint after it.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    // Generated (scripts/gen-abis.ts; sdk/abi/abis.test.ts checks they match a fresh compile) and
    // build output.
    ignores: [
      "sdk/abi/*.ts",
      "!sdk/abi/abis.test.ts",
      "sdk/abi/items/",
      "sdk/errors/contractErrors.ts",
      "artifacts/",
      "cache/",
      "types/",
      "coverage/",
      "runs/",
      "app/dist/",
      "packages/sdk/dist/",
      "examples/dapp/node_modules/",
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    linterOptions: { reportUnusedDisableDirectives: "error" },
    languageOptions: {
      globals: globals.node,
      parserOptions: { project: ["./tsconfig.json", "./app/tsconfig.json"], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-import-type-side-effects": "error",
      // `_name` marks a binding kept on purpose (a destructured field left out, a callback's unused argument).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
      // Shapes and byte lists are printed as `${[2, 3]}` ("2,3") in messages on purpose, and an
      // exhaustive switch names the impossible value in its default branch.
      "@typescript-eslint/restrict-template-expressions": [
        "error",
        {
          allowAny: true,
          allowBoolean: true,
          allowNullish: true,
          allowNumber: true,
          allowRegExp: true,
          allowArray: true,
          allowNever: true,
        },
      ],
      // Off: async functions here implement Promise-returning interfaces (ledgers, transports,
      // test stubs) without awaiting anything; the promise rules above catch the missed awaits.
      "@typescript-eslint/require-await": "off",
      // Rethrowing or rejecting with what was caught (an unknown) is passing an error on.
      "@typescript-eslint/only-throw-error": ["error", { allowThrowingAny: true, allowThrowingUnknown: true }],
      "@typescript-eslint/prefer-promise-reject-errors": ["error", { allowThrowingAny: true, allowThrowingUnknown: true }],
      // A JSX event handler may be async: Preact ignores what it returns.
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { attributes: false } }],
    },
  },
  {
    // vitest's asymmetric matchers (expect.any, expect.stringMatching, ...) are typed `any` so
    // that they fit any field of an expected value.
    files: ["**/*.test.ts", "**/*.test.tsx"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
    },
  },
  {
    files: ["app/src/**"],
    languageOptions: { globals: globals.browser },
  },
  {
    // Outside both TypeScript programs: syntactic rules only.
    files: ["**/*.js", "**/*.mjs", "vitest.config.ts", "app/vite.config.ts"],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
