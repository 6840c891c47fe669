//! Guardrails: detectors that find sensitive data (email addresses, phone numbers, payment
//! cards, IBANs, credentials, high-entropy tokens, administrators' own patterns) in the text of
//! a message, and redaction of what they found ([`detect`]).

pub mod ask;
pub mod detect;
pub mod events;
pub mod policy;
pub mod screen;

pub use policy::Guardrails;
