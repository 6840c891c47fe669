pub mod link;
pub mod login;
pub mod setup;
pub mod signup;
