//! Benchmarks and the test-only fake OpenAI-compatible upstream (never part of the product).
//!
//! [`FakeUpstream`] serves `POST /v1/chat/completions` and `GET /v1/models` on loopback with
//! scripted [`Reply`]s; integration tests point a provider at it, and the `fake-upstream`
//! binary is the upstream of `bench/chat.sh`.

pub mod fake_upstream;

pub use fake_upstream::{FakeUpstream, Options, Reply};
