//! One reader per supported format, each turning a document into [`crate::Block`]s.

pub(crate) mod csv;
pub(crate) mod docx;
pub(crate) mod html;
pub(crate) mod json;
pub(crate) mod markdown;
pub(crate) mod pdf;
pub(crate) mod plain;
