// Prettier's defaults (double quotes, semicolons, trailing commas) are the code's own style. The
// width is the exception: comments are wrapped by hand at 100 columns, but code lines were never
// wrapped (95% of them fit in 131 columns); 140 keeps most of them as they are.
/** @type {import("prettier").Config} */
export default { printWidth: 140 };
