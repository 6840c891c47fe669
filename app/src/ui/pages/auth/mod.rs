pub mod login;
pub mod setup;
