pub mod api_reference;
pub mod home;
pub mod not_found;
