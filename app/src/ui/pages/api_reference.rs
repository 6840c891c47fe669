//! A browsable view of the OpenAPI document the server generates from its routes.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{LazyRoute, lazy_route};

use crate::contract::health::Operation;
use crate::fns::system::list_api_operations;
use crate::ui::components::{DataTable, LoadError, PageCard};
use crate::ui::routes;

/// The `/api-reference` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct ApiReferenceRoute;

#[lazy_route]
impl LazyRoute for ApiReferenceRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <ApiReference/> }.into_any()
    }
}

#[component]
pub fn ApiReference() -> impl IntoView {
    let operations = Resource::new(|| (), |_| list_api_operations());
    let (filter, set_filter) = signal(String::new());

    view! {
        <Title text="API reference"/>
        <PageCard title="API reference">
            <p>
                "Generated from the server's routes. The machine-readable document is at "
                <a href=routes::OPENAPI_JSON><code>{routes::OPENAPI_JSON}</code></a>
                " (OpenAPI 3.1): load it into any OpenAPI client or generator."
            </p>
            <label class="filter">
                "Filter "
                <input
                    id="api-filter"
                    type="search"
                    placeholder="path, tag or summary"
                    prop:value=filter
                    on:input=move |ev| set_filter.set(event_target_value(&ev))
                />
            </label>
            <Suspense fallback=|| view! { <p>"Loading the API document…"</p> }>
                {move || operations.get().map(|r| match r {
                    Ok(ops) => view! { <OperationTable ops filter/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                })}
            </Suspense>
        </PageCard>
    }
}

fn matches(op: &Operation, needle: &str) -> bool {
    let needle = needle.trim().to_lowercase();
    needle.is_empty()
        || [&op.path, &op.tag, &op.summary, &op.method, &op.operation_id]
            .iter()
            .any(|f| f.to_lowercase().contains(&needle))
}

#[component]
fn OperationTable(ops: Vec<Operation>, filter: ReadSignal<String>) -> impl IntoView {
    let total = ops.len();
    let ops = StoredValue::new(ops);
    let visible = move || {
        let needle = filter.get();
        ops.with_value(|ops| {
            ops.iter()
                .filter(|o| matches(o, &needle))
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        <p class="muted" id="api-count">
            {move || format!("{} of {total} operations", visible().len())}
        </p>
        <DataTable class="ops" headers=&["Method", "Path", "Summary", "Tag"]>
            <For each=visible key=|op| format!("{} {}", op.method, op.path) let:op>
                <tr>
                    <td><span class=format!("method method-{}", op.method.to_lowercase())>{op.method.clone()}</span></td>
                    <td><code>{op.path.clone()}</code></td>
                    <td>{op.summary.clone()}</td>
                    <td>{op.tag.clone()}</td>
                </tr>
            </For>
        </DataTable>
    }
}
