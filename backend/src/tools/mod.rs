//! The built-in tools an agent may enable, and the runtime that executes the calls a model makes
//! in the function-calling loop.
//!
//! A tool call comes from a model, so its arguments are untrusted input (a prompt injection can
//! write them): every tool validates its arguments, bounds its work, and answers with a
//! [`ToolOutcome`], a sentence the model can read, never a panic or a Rust error. What each tool
//! guards against is described in its module: [`calculator`] (no code execution, bounded
//! parsing), [`clock`] and [`http_get`] (SSRF through [`net_guard`](super::net_guard), size and
//! time limits).

pub mod calculator;
pub mod clock;
pub mod http_get;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::net_guard;

/// A tool as offered to models and shown in the agent editor.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ToolDef {
    /// The function name models call (`calculator`).
    pub name: &'static str,
    /// A short label for people (`Calculator`).
    pub title: &'static str,
    /// What the tool does, written for the model.
    pub description: &'static str,
    /// The JSON schema (an object) of the arguments.
    pub parameters: Value,
}

/// Every built-in tool: `calculator`, `current_time`, `http_get`, in that order.
pub fn catalogue() -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: "calculator",
            title: "Calculator",
            description: "Evaluates an arithmetic expression exactly and returns the number. \
                Supports + - * / % and ^ (power), parentheses, the constants pi and e, and the \
                functions sqrt, cbrt, abs, floor, ceil, round, ln, log10, log2, exp, sin, cos, \
                tan, asin, acos, atan, atan2, hypot, min, max and pow (angles in radians). Use \
                it for any arithmetic rather than computing in your head.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "expression": {
                        "type": "string",
                        "description": "The expression, e.g. \"sqrt(144) + 56\" or \"(1 + 2) * 3 / 4\"."
                    }
                },
                "required": ["expression"],
                "additionalProperties": false
            }),
        },
        ToolDef {
            name: "current_time",
            title: "Current time",
            description: "Returns the current date and time (RFC 3339) and the weekday, in UTC \
                or at a fixed offset from UTC.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "timezone": {
                        "type": "string",
                        "description": "\"UTC\" (the default) or a fixed offset such as \"+02:00\" or \"-05:30\". Named zones like \"Europe/Paris\" are not supported."
                    }
                },
                "additionalProperties": false
            }),
        },
        ToolDef {
            name: "http_get",
            title: "Fetch a web page",
            description: "Fetches a public http(s) URL with GET and returns the status, the \
                content type, the size and the text of the response (HTML is returned as is; at \
                most 16,384 characters). Only text, HTML, JSON and XML responses are read; \
                private and internal addresses are refused.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "url": {
                        "type": "string",
                        "description": "The absolute URL to fetch, starting with https:// or http://."
                    }
                },
                "required": ["url"],
                "additionalProperties": false
            }),
        },
    ]
}

/// The built-in tool called `name`.
pub fn find(name: &str) -> Option<ToolDef> {
    catalogue().into_iter().find(|tool| tool.name == name)
}

/// The OpenAI `tools` array for the named tools:
/// `[{"type": "function", "function": {"name", "description", "parameters"}}]`, in the given
/// order; unknown names and repeats are skipped.
pub fn openai_tools(names: &[String]) -> Vec<Value> {
    let mut seen: Vec<&str> = Vec::new();
    names
        .iter()
        .filter_map(|name| find(name))
        .filter(|tool| {
            let new = !seen.contains(&tool.name);
            seen.push(tool.name);
            new
        })
        .map(|tool| {
            json!({
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                }
            })
        })
        .collect()
}

/// The result of a tool call, handed back to the model as the tool message.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolOutcome {
    /// Whether the tool did its job; `false` means `content` explains what went wrong.
    pub ok: bool,
    /// The answer, or a sentence the model can act on.
    pub content: String,
}

impl ToolOutcome {
    pub fn success(content: impl Into<String>) -> Self {
        Self {
            ok: true,
            content: content.into(),
        }
    }

    pub fn failure(content: impl Into<String>) -> Self {
        Self {
            ok: false,
            content: content.into(),
        }
    }
}

/// The limits of the HTTP tool.
#[derive(Clone, Copy, Debug)]
struct HttpLimits {
    /// Whole request, body included.
    timeout: Duration,
    connect_timeout: Duration,
    /// Bytes of body read at most.
    max_body_bytes: usize,
    /// Characters handed to the model at most.
    max_chars: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_body_bytes: 256 * 1024,
            max_chars: 16 * 1024,
        }
    }
}

/// Executes tool calls. Cheap to clone (the HTTP client is shared); build one per policy
/// (`allow_private`) and reuse it.
#[derive(Clone, Debug)]
pub struct ToolRuntime {
    /// The guarded client, or why it could not be built (then `http_get` answers with that).
    http: Result<reqwest::Client, Arc<str>>,
    /// Whether `http_get` may reach private and loopback addresses (an operator's choice).
    allow_private: bool,
    limits: HttpLimits,
}

impl ToolRuntime {
    /// A runtime whose HTTP client is guarded by [`net_guard`]: private addresses are refused
    /// unless `allow_private`; 10 s per request, 5 s to connect.
    pub fn new(allow_private: bool) -> Self {
        let limits = HttpLimits::default();
        let http = net_guard::client_builder(allow_private)
            .timeout(limits.timeout)
            .connect_timeout(limits.connect_timeout)
            .build()
            .map_err(|e| {
                tracing::error!(error = %e, "cannot build the HTTP client of agent tools");
                Arc::from(e.to_string())
            });
        Self {
            http,
            allow_private,
            limits,
        }
    }

    /// Runs the tool `name` with the JSON arguments the model sent. Never fails: an unknown
    /// tool, arguments that are not a JSON object, or an error of the tool itself give
    /// `ok: false` with an explanation.
    pub async fn call(&self, name: &str, arguments_json: &str) -> ToolOutcome {
        let result = match find(name) {
            None => Err(format!(
                "Unknown tool \"{name}\". Available tools: {}.",
                catalogue()
                    .iter()
                    .map(|tool| tool.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(_) => match parse_arguments(arguments_json) {
                Err(e) => Err(e),
                Ok(args) => match name {
                    "calculator" => calculator::run(args),
                    "current_time" => clock::run(args, chrono::Utc::now()),
                    "http_get" => http_get::run(self, args).await,
                    _ => Err(format!("The tool \"{name}\" is not available.")),
                },
            },
        };
        let outcome = match result {
            Ok(content) => ToolOutcome::success(content),
            Err(content) => ToolOutcome::failure(content),
        };
        tracing::debug!(tool = name, ok = outcome.ok, "tool call");
        outcome
    }
}

/// The arguments as a JSON object; empty input or `null` count as `{}` (models send both for
/// tools without required arguments).
fn parse_arguments(arguments_json: &str) -> Result<Value, String> {
    let trimmed = arguments_json.trim();
    if trimmed.is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(Value::Null) => Ok(json!({})),
        Ok(object @ Value::Object(_)) => Ok(object),
        Ok(_) => {
            Err("The arguments must be a JSON object, e.g. {\"expression\": \"1 + 1\"}.".into())
        }
        Err(e) => Err(format!("The arguments are not valid JSON ({e}).")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_order_and_schemas() {
        let names: Vec<_> = catalogue().iter().map(|t| t.name).collect();
        assert_eq!(names, ["calculator", "current_time", "http_get"]);
        for tool in catalogue() {
            assert_eq!(tool.parameters["type"], "object", "{}", tool.name);
            assert!(!tool.description.is_empty());
        }
        assert_eq!(find("http_get").map(|t| t.title), Some("Fetch a web page"));
        assert!(find("shell").is_none());
    }

    #[test]
    fn openai_tools_skip_unknown_and_repeated_names() {
        let names = ["http_get", "shell", "calculator", "http_get"].map(String::from);
        let tools = openai_tools(&names);
        assert_eq!(tools.len(), 2);
        assert_eq!(tools[0]["type"], "function");
        assert_eq!(tools[0]["function"]["name"], "http_get");
        assert_eq!(tools[1]["function"]["name"], "calculator");
        assert_eq!(
            tools[1]["function"]["parameters"]["required"],
            json!(["expression"])
        );
        assert!(tools[1]["function"]["description"].is_string());
    }

    #[tokio::test]
    async fn calls() {
        let runtime = ToolRuntime::new(false);
        assert_eq!(
            runtime
                .call("calculator", r#"{"expression": "sqrt(144) + 56"}"#)
                .await,
            ToolOutcome::success("68")
        );
        let outcome = runtime.call("current_time", "").await;
        assert!(outcome.ok && outcome.content.contains("Z ("), "{outcome:?}");
        let outcome = runtime.call("current_time", "null").await;
        assert!(outcome.ok, "{outcome:?}");

        let outcome = runtime.call("shell", r#"{"cmd": "id"}"#).await;
        assert!(!outcome.ok);
        assert!(outcome.content.contains("Unknown tool \"shell\""));
        assert!(
            outcome
                .content
                .contains("calculator, current_time, http_get")
        );

        let outcome = runtime.call("calculator", "{not json").await;
        assert!(!outcome.ok && outcome.content.contains("not valid JSON"));
        let outcome = runtime.call("calculator", "[1]").await;
        assert!(!outcome.ok && outcome.content.contains("JSON object"));
        let outcome = runtime.call("calculator", "{}").await;
        assert!(!outcome.ok && outcome.content.contains("expression"));
        let outcome = runtime.call("calculator", r#"{"expression": "1/0"}"#).await;
        assert!(!outcome.ok && outcome.content.contains("Division by zero"));
    }
}
