//! A resource's value once loaded, or why it could not be.

use leptos::prelude::*;
use serde::{Serialize, de::DeserializeOwned};

use super::LoadError;
use crate::contract::ErrorBody;

/// `<Transition>` over `resource`: `loading` meanwhile, then `children` with the value, or the
/// error in its place.
#[component]
pub fn Loaded<T, V>(
    resource: Resource<Result<T, ErrorBody>>,
    #[prop(default = "Loading…")] loading: &'static str,
    children: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    let children = StoredValue::new(children);
    view! {
        <Transition fallback=move || view! { <p>{loading}</p> }>
            {move || resource.get().map(|r| match r {
                Ok(value) => children.with_value(|c| c(value)).into_any(),
                Err(error) => view! { <LoadError error/> }.into_any(),
            })}
        </Transition>
    }
}
