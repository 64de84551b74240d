/**
 * The public surface of numfuse, re-exported by both entry points (`mod.ts`
 * for Deno, `mod_node.ts` for Node), so the two cannot drift apart.
 *
 * @module
 */

export {
  type ArgumentOf,
  type Arguments,
  type ArrayOperand,
  compile,
  disassemble,
  evaluate,
  evaluateAsync,
  type EvaluateOptions,
  getNumThreads,
  type Kernel,
  type NdArray,
  type Operand,
  type Reduced,
  type ReducedArray,
  type ResultOf,
  type Scalar,
  setNumThreads,
  type Signature,
  validate,
  type Variables,
  type WithShapes,
} from "./api.ts";
export { type Casting, type DType, type NumericArray } from "./dtype.ts";
export { ExpressionError } from "./errors.ts";
