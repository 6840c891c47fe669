//! What the pages share: notices and alerts, form fields and buttons, tables, dates and times,
//! the confirmation of destructive actions, empty states, page cards, loading a resource, and
//! the sign-in gate, and SVG charts. Each renders the markup the pages wrote by hand before (same elements,
//! classes and roles), so `style/main.css` and `end2end/tests` see no difference.

pub mod alert;
pub mod chart;
pub mod confirm;
pub mod copy;
pub mod field;
pub mod loaded;
pub mod page;
pub mod signed_in;
pub mod table;
pub mod time;

pub use alert::{Alert, ErrorAlert, LoadError, Notice, SaveOutcome, error_of};
pub use confirm::ConfirmDelete;
pub use copy::CopyButton;
pub use field::{CheckField, Field, SubmitButton};
pub use loaded::Loaded;
pub use page::{EmptyState, PageCard};
pub use signed_in::{SignedIn, is_admin};
pub use table::DataTable;
