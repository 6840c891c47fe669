//! The `calculator` tool: arithmetic for models, which are bad at it.
//!
//! What it protects against: an expression language is code, and the expression comes from a
//! model that may be steered by a prompt injection. `evalexpr` only *parses* here; the tree is
//! evaluated by the small interpreter below, which knows numbers, `+ - * / % ^`, the constants
//! `pi` and `e` and a fixed list of math functions, and refuses everything else (assignments,
//! variables, strings, booleans, comparisons, `;` chains, evalexpr's other built-ins). Input is
//! capped in length and parenthesis nesting before parsing, and the interpreter caps the depth
//! of the tree, so no input can exhaust the stack. Integer arithmetic is exact (checked, falling
//! back to floating point on overflow) and division by zero is an error, not `inf`.

use evalexpr::{DefaultNumericTypes, Node, Operator, Value};
use serde::Deserialize;

/// Longest expression accepted, in characters.
pub const MAX_EXPRESSION_CHARS: usize = 500;
/// Deepest parenthesis nesting accepted.
pub const MAX_NESTING: usize = 64;
/// Deepest expression tree evaluated (unary minus chains nest without parentheses).
const MAX_TREE_DEPTH: usize = 256;

/// The functions the calculator knows (each also callable as `math::name`).
pub const FUNCTIONS: &[&str] = &[
    "sqrt", "cbrt", "abs", "floor", "ceil", "round", "ln", "log10", "log2", "exp", "sin", "cos",
    "tan", "asin", "acos", "atan", "atan2", "hypot", "min", "max", "pow",
];

#[derive(Deserialize)]
struct Args {
    expression: String,
}

/// Runs the tool on its JSON arguments `{"expression": "..."}`.
pub(super) fn run(args: serde_json::Value) -> Result<String, String> {
    let args: Args = serde_json::from_value(args).map_err(|e| {
        format!(
            "Invalid arguments for calculator ({e}); expected {{\"expression\": \"2 * (3 + 4)\"}}."
        )
    })?;
    evaluate(&args.expression)
}

/// Evaluates an arithmetic expression; the result is formatted for a reader: integers without
/// a fractional part (`68`), other numbers in their shortest exact form (`2.25`).
pub fn evaluate(expression: &str) -> Result<String, String> {
    let expression = expression.trim();
    if expression.is_empty() {
        return Err("The expression is empty.".into());
    }
    let chars = expression.chars().count();
    if chars > MAX_EXPRESSION_CHARS {
        return Err(format!(
            "The expression is too long ({chars} characters, at most {MAX_EXPRESSION_CHARS})."
        ));
    }
    check_nesting(expression)?;
    // evalexpr is third-party code fed untrusted input: a panic in its parser must not take the
    // agent loop down with it.
    let parsed = std::panic::catch_unwind(|| {
        evalexpr::build_operator_tree::<DefaultNumericTypes>(expression)
    })
    .map_err(|_| "The expression could not be parsed.".to_owned())?
    .map_err(|e| format!("The expression could not be parsed: {e}."))?;
    eval(&parsed, 0).map(format_number)
}

fn check_nesting(expression: &str) -> Result<(), String> {
    let mut depth = 0usize;
    for c in expression.chars() {
        match c {
            '(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(format!(
                        "The expression nests parentheses too deeply (at most {MAX_NESTING} levels)."
                    ));
                }
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// A number during evaluation: integers stay exact as long as they can.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn float(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    fn is_zero(self) -> bool {
        match self {
            Num::Int(i) => i == 0,
            Num::Float(f) => f == 0.0,
        }
    }
}

const NOT_FINITE: &str =
    "The result is not a finite number (it overflows, or is undefined as in sqrt(-1) or ln(0)).";
const DIVISION_BY_ZERO: &str = "Division by zero is undefined.";

/// A float result, refused when it is infinite or NaN.
fn finite(f: f64) -> Result<Num, String> {
    if f.is_finite() {
        Ok(Num::Float(f))
    } else {
        Err(NOT_FINITE.into())
    }
}

fn eval(node: &Node<DefaultNumericTypes>, depth: usize) -> Result<Num, String> {
    if depth > MAX_TREE_DEPTH {
        return Err("The expression is nested too deeply.".into());
    }
    let children = node.children();
    let operand = |i: usize| -> Result<Num, String> {
        children
            .get(i)
            .ok_or_else(|| "The expression is incomplete.".to_owned())
            .and_then(|child| eval(child, depth + 1))
    };
    match node.operator() {
        Operator::RootNode => match children {
            [only] => eval(only, depth + 1),
            [] => Err("The expression (or a part in parentheses) is empty.".into()),
            _ => Err("The expression could not be parsed.".into()),
        },
        Operator::Const { value } => constant(value),
        Operator::VariableIdentifierRead { identifier } => match identifier.as_str() {
            "pi" => Ok(Num::Float(std::f64::consts::PI)),
            "e" => Ok(Num::Float(std::f64::consts::E)),
            other => Err(format!(
                "Unknown name `{other}`: the only constants are pi and e (functions need parentheses, e.g. sqrt(2))."
            )),
        },
        Operator::Neg => match operand(0)? {
            Num::Int(i) => Ok(i.checked_neg().map_or(Num::Float(-(i as f64)), Num::Int)),
            Num::Float(f) => Ok(Num::Float(-f)),
        },
        Operator::Add => add(operand(0)?, operand(1)?),
        Operator::Sub => sub(operand(0)?, operand(1)?),
        Operator::Mul => mul(operand(0)?, operand(1)?),
        Operator::Div => div(operand(0)?, operand(1)?),
        Operator::Mod => rem(operand(0)?, operand(1)?),
        Operator::Exp => power_chain(node, depth),
        Operator::FunctionIdentifier { identifier } => {
            let name = function_name(identifier)?;
            let argument = children
                .first()
                .ok_or_else(|| format!("{name} needs arguments in parentheses."))?;
            call(name, &arguments(argument, depth + 1)?)
        }
        Operator::Tuple => {
            Err("A list of values (a, b, …) is only allowed as the arguments of a function.".into())
        }
        Operator::Chain => Err("Only one expression is allowed (no `;`).".into()),
        Operator::Assign
        | Operator::AddAssign
        | Operator::SubAssign
        | Operator::MulAssign
        | Operator::DivAssign
        | Operator::ModAssign
        | Operator::ExpAssign
        | Operator::AndAssign
        | Operator::OrAssign
        | Operator::VariableIdentifierWrite { .. } => {
            Err("Assignments are not allowed: the calculator only evaluates expressions.".into())
        }
        Operator::Eq
        | Operator::Neq
        | Operator::Gt
        | Operator::Lt
        | Operator::Geq
        | Operator::Leq
        | Operator::And
        | Operator::Or
        | Operator::Not => Err(
            "Comparisons and logical operators are not supported: the calculator only computes numbers."
                .into(),
        ),
    }
}

fn constant(value: &Value<DefaultNumericTypes>) -> Result<Num, String> {
    match value {
        Value::Int(i) => Ok(Num::Int(*i)),
        Value::Float(f) => finite(*f),
        Value::String(_) => {
            Err("Text is not supported: the calculator only computes numbers.".into())
        }
        Value::Boolean(_) => {
            Err("true and false are not supported: the calculator only computes numbers.".into())
        }
        Value::Tuple(_) | Value::Empty => Err("The calculator only computes numbers.".into()),
    }
}

/// The arguments of a function call: `f()`, `f(x)`, `f(x, y, …)` or `f x`.
fn arguments(node: &Node<DefaultNumericTypes>, depth: usize) -> Result<Vec<Num>, String> {
    if depth > MAX_TREE_DEPTH {
        return Err("The expression is nested too deeply.".into());
    }
    match (node.operator(), node.children()) {
        (Operator::RootNode, []) => Ok(Vec::new()),
        (Operator::RootNode, [only]) => arguments(only, depth + 1),
        (Operator::Tuple, items) => items.iter().map(|item| eval(item, depth + 1)).collect(),
        _ => Ok(vec![eval(node, depth)?]),
    }
}

fn add(a: Num, b: Num) -> Result<Num, String> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => x
            .checked_add(y)
            .map_or_else(|| finite(a.float() + b.float()), |v| Ok(Num::Int(v))),
        _ => finite(a.float() + b.float()),
    }
}

fn sub(a: Num, b: Num) -> Result<Num, String> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => x
            .checked_sub(y)
            .map_or_else(|| finite(a.float() - b.float()), |v| Ok(Num::Int(v))),
        _ => finite(a.float() - b.float()),
    }
}

fn mul(a: Num, b: Num) -> Result<Num, String> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => x
            .checked_mul(y)
            .map_or_else(|| finite(a.float() * b.float()), |v| Ok(Num::Int(v))),
        _ => finite(a.float() * b.float()),
    }
}

fn div(a: Num, b: Num) -> Result<Num, String> {
    if b.is_zero() {
        return Err(DIVISION_BY_ZERO.into());
    }
    match (a, b) {
        // Exact only when it divides evenly: 9 / 4 is 2.25, not 2.
        (Num::Int(x), Num::Int(y)) if x.checked_rem(y) == Some(0) => x
            .checked_div(y)
            .map_or_else(|| finite(a.float() / b.float()), |v| Ok(Num::Int(v))),
        _ => finite(a.float() / b.float()),
    }
}

fn rem(a: Num, b: Num) -> Result<Num, String> {
    if b.is_zero() {
        return Err(DIVISION_BY_ZERO.into());
    }
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Ok(Num::Int(x.checked_rem(y).unwrap_or(0))),
        _ => finite(a.float() % b.float()),
    }
}

fn pow(base: Num, exponent: Num) -> Result<Num, String> {
    if let (Num::Int(b), Num::Int(e)) = (base, exponent) {
        if let Some(v) = u32::try_from(e).ok().and_then(|e| b.checked_pow(e)) {
            return Ok(Num::Int(v));
        }
        if b == 0 && e < 0 {
            return Err(DIVISION_BY_ZERO.into());
        }
    }
    finite(base.float().powf(exponent.float()))
}

/// `a ^ b ^ c`: evalexpr chains `^` from the left; mathematics (and every calculator) from the
/// right, so the chain is regrouped as `a ^ (b ^ c)`. Parenthesised parts are `RootNode`s and
/// keep their grouping: `(a ^ b) ^ c`.
fn power_chain(node: &Node<DefaultNumericTypes>, depth: usize) -> Result<Num, String> {
    const INCOMPLETE: &str = "The expression is incomplete.";
    // Operands from the last to the first.
    let mut operands = Vec::new();
    let mut current = node;
    while matches!(current.operator(), Operator::Exp) {
        match current.children() {
            [left, right] => {
                operands.push(right);
                current = left;
            }
            _ => return Err(INCOMPLETE.into()),
        }
    }
    operands.push(current);
    let mut operands = operands.into_iter();
    let last = operands.next().ok_or_else(|| INCOMPLETE.to_owned())?;
    let mut result = eval(last, depth + 1)?;
    for base in operands {
        result = pow(eval(base, depth + 1)?, result)?;
    }
    Ok(result)
}

/// The function `identifier` names (`sqrt` or `math::sqrt`), if the calculator has it.
fn function_name(identifier: &str) -> Result<&str, String> {
    let name = identifier.strip_prefix("math::").unwrap_or(identifier);
    if FUNCTIONS.contains(&name) {
        Ok(name)
    } else {
        Err(format!(
            "Unknown function `{identifier}`. Available: {}.",
            FUNCTIONS.join(", ")
        ))
    }
}

/// Calls the function `name` (one of [`FUNCTIONS`]).
fn call(name: &str, args: &[Num]) -> Result<Num, String> {
    let arity = |n: usize| -> Result<(), String> {
        if args.len() == n {
            Ok(())
        } else {
            let plural = if n == 1 { "" } else { "s" };
            Err(format!(
                "{name} takes {n} argument{plural}, not {}.",
                args.len()
            ))
        }
    };
    let unary = |f: fn(f64) -> f64| -> Result<Num, String> {
        arity(1)?;
        finite(f(args[0].float()))
    };
    // Rounding keeps integers exact.
    let rounding = |f: fn(f64) -> f64| -> Result<Num, String> {
        arity(1)?;
        match args[0] {
            Num::Int(i) => Ok(Num::Int(i)),
            Num::Float(x) => finite(f(x)),
        }
    };
    match name {
        "sqrt" => unary(f64::sqrt),
        "cbrt" => unary(f64::cbrt),
        "ln" => unary(f64::ln),
        "log10" => unary(f64::log10),
        "log2" => unary(f64::log2),
        "exp" => unary(f64::exp),
        "sin" => unary(f64::sin),
        "cos" => unary(f64::cos),
        "tan" => unary(f64::tan),
        "asin" => unary(f64::asin),
        "acos" => unary(f64::acos),
        "atan" => unary(f64::atan),
        "floor" => rounding(f64::floor),
        "ceil" => rounding(f64::ceil),
        "round" => rounding(f64::round),
        "abs" => {
            arity(1)?;
            match args[0] {
                Num::Int(i) => Ok(i
                    .checked_abs()
                    .map_or(Num::Float((i as f64).abs()), Num::Int)),
                Num::Float(x) => Ok(Num::Float(x.abs())),
            }
        }
        "atan2" => {
            arity(2)?;
            finite(args[0].float().atan2(args[1].float()))
        }
        "hypot" => {
            arity(2)?;
            finite(args[0].float().hypot(args[1].float()))
        }
        "pow" => {
            arity(2)?;
            pow(args[0], args[1])
        }
        "min" | "max" => {
            let mut values = args.iter().copied();
            let first = values
                .next()
                .ok_or_else(|| format!("{name} needs at least one argument."))?;
            Ok(values.fold(first, |best, v| {
                let better = if name == "min" {
                    v.float() < best.float()
                } else {
                    v.float() > best.float()
                };
                if better { v } else { best }
            }))
        }
        _ => Err(format!("Unknown function `{name}`.")),
    }
}

/// Floats from 2^53 on are not exact integers any more: they are written in scientific notation
/// so that no one mistakes `9223372036854776000` for an exact result.
const EXACT_FLOAT_LIMIT: f64 = 9_007_199_254_740_992.0;

/// `68`, `2.25`, `0.30000000000000004`, and `1e301`-style for very large or small magnitudes.
fn format_number(n: Num) -> String {
    match n {
        Num::Int(i) => i.to_string(),
        Num::Float(f) => {
            let f = if f == 0.0 { 0.0 } else { f }; // no "-0"
            let magnitude = f.abs();
            if magnitude != 0.0 && !(1e-7..EXACT_FLOAT_LIMIT).contains(&magnitude) {
                format!("{f:e}")
            } else {
                format!("{f}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(expression: &str) -> String {
        evaluate(expression).unwrap_or_else(|e| panic!("{expression}: {e}"))
    }

    fn err(expression: &str) -> String {
        evaluate(expression).expect_err(expression)
    }

    #[test]
    fn arithmetic() {
        assert_eq!(ok("sqrt(144) + 56"), "68");
        assert_eq!(ok("math::sqrt(144) + 56"), "68");
        assert_eq!(ok("2^10"), "1024");
        assert_eq!(ok("2^3^2"), "512");
        assert_eq!(ok("(2^3)^2"), "64");
        assert_eq!(ok("-2^2"), "-4");
        assert_eq!(ok("2^0.5^2 * 1"), ok("2^0.25"));
        assert_eq!(ok("(1+2)*3/4"), "2.25");
        assert_eq!(ok("8 / 4"), "2");
        assert_eq!(ok("7 % 3"), "1");
        assert_eq!(ok("0.1 + 0.2"), "0.30000000000000004");
        assert_eq!(ok("-(-2) - -3"), "5");
        assert_eq!(ok("2^-1"), "0.5");
        assert_eq!(ok("abs(-5)"), "5");
        assert_eq!(ok("floor(2.7) + ceil(2.1) + round(2.5)"), "8");
        assert_eq!(ok("min(3, 1.5, 2)"), "1.5");
        assert_eq!(ok("max(3, 1, 2)"), "3");
        assert_eq!(ok("pow(2, 3)"), "8");
        assert_eq!(ok("round(pi * 100) / 100"), "3.14");
        assert_eq!(ok("ln(e)"), "1");
        assert_eq!(ok("log10(1000)"), "3");
        assert_eq!(ok("log2(8)"), "3");
        assert_eq!(ok("sin(0) + cos(0)"), "1");
        assert_eq!(ok("1e-3 * 2"), "0.002");
        assert_eq!(ok("9223372036854775807"), "9223372036854775807");
        assert_eq!(ok("9223372036854775807 + 1"), "9.223372036854776e18");
        assert_eq!(ok("2^53 + 0.0"), "9.007199254740992e15");
        assert_eq!(ok("2^53 - 1.0"), "9007199254740991");
        assert_eq!(ok("0.00000001"), "1e-8");
        assert_eq!(ok("0 * -1.0"), "0");
        assert_eq!(ok("10^300 * 10"), "1e301");
        assert_eq!(ok("2^62 * 2"), "9.223372036854776e18");
        assert_eq!(ok("2^62"), "4611686018427387904");
        assert_eq!(ok("sqrt 16"), "4");
    }

    #[test]
    fn refusals() {
        assert!(err("a = 3").contains("Assignments are not allowed"));
        assert!(err("a += 3").contains("Assignments are not allowed"));
        assert!(err("\"str\"").contains("Text is not supported"));
        assert!(err("\"a\" + \"b\"").contains("Text is not supported"));
        assert!(err("true").contains("true and false"));
        assert!(err("1 == 1").contains("Comparisons"));
        assert!(err("x + 1").contains("Unknown name `x`"));
        assert!(err("1; 2").contains("Only one expression"));
        assert!(err("1, 2").contains("only allowed as the arguments"));
        assert!(err("str::to_uppercase(\"a\")").contains("Unknown function"));
        assert!(err("typeof(1)").contains("Unknown function"));
        assert!(err("sqrt(1, 2)").contains("takes 1 argument"));
        assert!(err("min()").contains("at least one"));
        assert!(err("").contains("empty"));
        assert!(err("1 +").contains("could not be parsed") || err("1 +").contains("incomplete"));
        assert!(err("sqrt(-1)").contains("not a finite number"));
        assert!(err("inf").contains("not a finite number"));
        assert!(err("10.0^400").contains("not a finite number"));
    }

    #[test]
    fn division_by_zero() {
        for expression in ["1/0", "1.5 / 0.0", "5 % 0", "0^-1", "1/(2-2)"] {
            assert_eq!(err(expression), DIVISION_BY_ZERO, "{expression}");
        }
    }

    #[test]
    fn hostile_input_is_refused_without_crashing() {
        assert!(err(&"(".repeat(10_000)).contains("too long"));
        assert!(err(&format!("{}1{}", "(".repeat(65), ")".repeat(65))).contains("too deeply"));
        assert_eq!(ok(&format!("{}1{}", "(".repeat(64), ")".repeat(64))), "1");
        let long = format!("1{}", "+1".repeat(MAX_EXPRESSION_CHARS));
        assert!(err(&long).contains("too long"));
        // Deep trees without parentheses: long chains of unary minus and of function calls.
        let minus = format!("{}1", "-".repeat(MAX_EXPRESSION_CHARS - 1));
        assert!(err(&minus).contains("nested too deeply"));
        assert_eq!(ok(&format!("{}4", "abs ".repeat(124))), "4");
        assert_eq!(ok(&format!("{}1", "- ".repeat(249))), "-1");
        let powers = format!("2{}", "^1".repeat(249));
        assert_eq!(ok(&powers), "2");
        let sum = format!("1{}", "+1".repeat(249));
        assert_eq!(ok(&sum), "250");
    }

    #[test]
    fn tool_arguments() {
        assert_eq!(
            run(serde_json::json!({"expression": "6*7"})),
            Ok("42".to_owned())
        );
        assert!(
            run(serde_json::json!({"expr": "6*7"}))
                .unwrap_err()
                .contains("expression")
        );
    }

    proptest::proptest! {
        /// Expressions come from the model: none makes the tool panic.
        #[test]
        fn no_expression_panics(expression in proptest::prelude::any::<String>()) {
            let _ = evaluate(&expression);
        }

        #[test]
        fn no_arithmetic_like_expression_panics(expression in "[0-9a-z+*/%^().,é -]{0,40}") {
            let _ = evaluate(&expression);
        }
    }
}
