pub mod login;
pub mod setup;
pub mod signup;
