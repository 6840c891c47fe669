pub mod admin;
pub mod api_keys;
pub mod api_reference;
pub mod auth;
pub mod home;
pub mod not_found;
