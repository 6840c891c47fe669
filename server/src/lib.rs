//! The `aerie` server: CLI, HTTP surfaces and middleware over the `aerie-backend` service layer
//! (and the `aerie-app` dashboard). `docs/ARCHITECTURE.md` describes the request path.

pub mod cli;
pub mod extract;
pub mod limits;
pub mod middleware;
pub mod openapi;
pub mod router;
pub mod routes;
pub mod shutdown;
pub mod startup;
pub mod telemetry;
pub mod wire;
