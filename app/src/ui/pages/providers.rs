//! Providers: the organisation's upstream LLM endpoints. Admins add, test, edit and delete
//! them; members see the list.

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use super::{SignedIn, error_of, is_admin};
use crate::contract::providers::{Provider, ProviderCheck};
use crate::fns::providers::{
    CreateProvider, DeleteProvider, EditProvider, TestProvider, list_providers,
};
use crate::ui::components::{
    CheckField, DataTable, EmptyState, ErrorAlert, Field, Loaded, PageCard, SubmitButton,
};

/// The `/providers` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct ProvidersRoute;

#[lazy_route]
impl LazyRoute for ProvidersRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <ProvidersPage/> }.into_any()
    }
}

#[component]
pub fn ProvidersPage() -> impl IntoView {
    view! {
        <SignedIn title="Providers" let:user>
            <ProvidersManager admin=is_admin(&user)/>
        </SignedIn>
    }
}

#[component]
fn ProvidersManager(admin: bool) -> impl IntoView {
    let create = ServerAction::<CreateProvider>::new();
    let delete = ServerAction::<DeleteProvider>::new();
    // Bumped after a change made in a row (edit), so the list re-reads.
    let changes = RwSignal::new(0u32);
    let providers = Resource::new(
        move || {
            (
                create.version().get(),
                delete.version().get(),
                changes.get(),
            )
        },
        |_| list_providers(),
    );
    let errors = move || error_of(create)().or_else(error_of(delete));
    view! {
        <PageCard title="Providers">
            <p>
                "Providers are the OpenAI-compatible endpoints (OpenAI, Azure, vLLM, Ollama, …) "
                "your agents' models run on. Keys are stored encrypted and never shown again."
            </p>
            <Show when=move || admin fallback=|| view! {
                <p class="muted">"Only organisation admins can add or change providers."</p>
            }>
                <h2>"Add a provider"</h2>
                <ActionForm action=create>
                    <Field label="Name"><input name="name" required maxlength="100" placeholder="OpenAI"/></Field>
                    <Field label="Base URL">
                        <input name="base_url" required type="url" placeholder="https://api.openai.com/v1"/>
                    </Field>
                    <Field label="API key"><input name="api_key" type="password" autocomplete="off"/></Field>
                    <Field label="Models" hint="Comma-separated model ids; leave empty to discover them.">
                        <input name="models" placeholder="empty: ask the provider"/>
                    </Field>
                    <SubmitButton label="Add provider" busy="Adding…" pending=create.pending()/>
                </ActionForm>
            </Show>
            <ErrorAlert message=errors/>
        </PageCard>
        <section class="card">
            <Loaded resource=providers loading="Loading providers…" let:list>
                {if list.is_empty() {
                    view! { <EmptyState>"No provider yet: agents need one to answer."</EmptyState> }.into_any()
                } else {
                    view! {
                        <DataTable class="ops providers"
                            headers=&["Name", "Base URL", "Models", "Key", "Source", ""]>
                            {list.into_iter().map(|p| view! { <ProviderRow provider=p admin delete changes/> }).collect_view()}
                        </DataTable>
                    }.into_any()
                }}
            </Loaded>
        </section>
    }
}

#[component]
fn ProviderRow(
    provider: Provider,
    admin: bool,
    delete: ServerAction<DeleteProvider>,
    changes: RwSignal<u32>,
) -> impl IntoView {
    let id = provider.id;
    let test = ServerAction::<TestProvider>::new();
    let update = ServerAction::<EditProvider>::new();
    let editing = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(_)) = update.value().get() {
            editing.set(false);
            changes.update(|n| *n += 1);
        }
    });
    let editable = admin && provider.source != "configuration";
    let models = provider
        .models
        .iter()
        .map(|m| m.id.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let key = provider
        .api_key_hint
        .clone()
        .unwrap_or_else(|| if provider.has_api_key { "set" } else { "none" }.to_owned());
    let models_value = StoredValue::new(models.clone());
    view! {
        <tr data-provider=provider.name.clone()>
            <td>{provider.name.clone()}</td>
            <td><code>{provider.base_url.clone()}</code></td>
            <td class="models">{models}</td>
            <td><code>{key}</code></td>
            <td>{provider.source.clone()}</td>
            <td class="actions">
                <Show when=move || admin>
                    <button class="button secondary" type="button" disabled=move || test.pending().get()
                        on:click=move |_| { test.dispatch(TestProvider { id }); }>
                        {move || if test.pending().get() { "Testing…" } else { "Test" }}
                    </button>
                </Show>
                <Show when=move || editable>
                    <button class="button secondary" type="button"
                        on:click=move |_| editing.update(|e| *e = !*e)>"Edit"</button>
                    <button class="button danger" type="button"
                        on:click=move |_| { delete.dispatch(DeleteProvider { id }); }>"Delete"</button>
                </Show>
            </td>
        </tr>
        {move || test.value().get().map(|r| view! {
            <tr class="detail-row"><td colspan="6"><CheckResult result=r/></td></tr>
        })}
        <Show when=move || editing.get()>
            <tr class="detail-row"><td colspan="6">
                <ActionForm action=update attr:class="inline-form">
                    <input type="hidden" name="id" value=id.to_string()/>
                    <Field label="Models"><input name="models" value=models_value.get_value()/></Field>
                    <Field label="New API key">
                        <input name="api_key" type="password" autocomplete="off" placeholder="empty: keep"/>
                    </Field>
                    <CheckField label=" Remove the key">
                        <input type="checkbox" name="remove_key" value="true"/>
                    </CheckField>
                    <button class="button" type="submit">"Save"</button>
                </ActionForm>
                <ErrorAlert message=error_of(update)/>
            </td></tr>
        </Show>
    }
}

#[component]
fn CheckResult(result: Result<ProviderCheck, crate::contract::ErrorBody>) -> impl IntoView {
    match result {
        Ok(c) if c.ok => view! {
            <p class="check ok" role="status" data-testid="provider-check">
                {format!("✓ {} ({} ms)", c.detail, c.latency_ms)}
            </p>
        }
        .into_any(),
        Ok(c) => view! {
            <p class="check error" role="status" data-testid="provider-check">
                {format!("✗ {} ({} ms)", c.detail, c.latency_ms)}
            </p>
        }
        .into_any(),
        Err(e) => view! { <p class="check error" role="alert">{e.detail}</p> }.into_any(),
    }
}
