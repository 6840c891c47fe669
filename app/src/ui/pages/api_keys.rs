//! API keys: create (the secret is shown once, with a copy button), rotate, revoke, and each
//! key's own rate limits (empty: the plan's; docs/BILLING.md).

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use super::SignedIn;
use crate::contract::api_keys::{ApiKey, ApiKeyWithSecret};
use crate::contract::kinds::ApiKeyStatus;
use crate::fns::api_keys::{CreateKey, RevokeKey, RotateKey, SetKeyLimits, list_keys};
use crate::ui::components::{
    CopyButton, DataTable, EmptyState, ErrorAlert, Field, Loaded, PageCard, time,
};

/// The `/keys` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct ApiKeysRoute;

#[lazy_route]
impl LazyRoute for ApiKeysRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <ApiKeysPage/> }.into_any()
    }
}

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    view! {
        <SignedIn title="API keys" prompt="Sign in to manage your API keys." let:_user>
            <KeysManager/>
        </SignedIn>
    }
}

#[component]
fn KeysManager() -> impl IntoView {
    let create = ServerAction::<CreateKey>::new();
    let rotate = ServerAction::<RotateKey>::new();
    let revoke = ServerAction::<RevokeKey>::new();
    let limits = ServerAction::<SetKeyLimits>::new();
    // Bumped after every successful change, so the list re-reads.
    let changes = RwSignal::new(0u32);
    let keys = Resource::new(move || changes.get(), |_| list_keys());
    // The secret of the last create or rotate, shown once.
    let fresh = RwSignal::new(None::<ApiKeyWithSecret>);
    Effect::new(move |_| {
        if let Some(Ok(k)) = create.value().get() {
            fresh.set(Some(k));
            changes.update(|n| *n += 1);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(k)) = rotate.value().get() {
            fresh.set(Some(k));
            changes.update(|n| *n += 1);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = revoke.value().get() {
            changes.update(|n| *n += 1);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = limits.value().get() {
            changes.update(|n| *n += 1);
        }
    });
    let error = move || {
        [create.value().get(), rotate.value().get()]
            .into_iter()
            .flatten()
            .find_map(Result::err)
            .map(|e| e.detail)
            .or_else(|| revoke.value().get().and_then(Result::err).map(|e| e.detail))
            .or_else(|| limits.value().get().and_then(Result::err).map(|e| e.detail))
    };

    view! {
        <PageCard title="API keys">
            <p>
                "Keys let programs call Aerie as you: send "
                <code>"Authorization: Bearer <key>"</code> " or " <code>"X-API-Key: <key>"</code> "."
            </p>
            <ActionForm action=create attr:class="inline-form">
                <Field label="Name"><input name="name" required maxlength="100" placeholder="ci-deploy"/></Field>
                <Field label="Expires">
                    <select name="expires_at">
                        <option value="">"Never"</option>
                        <option value="30d">"In 30 days"</option>
                        <option value="90d" selected>"In 90 days"</option>
                        <option value="365d">"In a year"</option>
                    </select>
                </Field>
                <Field label="Requests per minute">
                    <input name="requests_per_minute" inputmode="numeric" size="8" placeholder="plan's"/>
                </Field>
                <Field label="Tokens per minute">
                    <input name="tokens_per_minute" inputmode="numeric" size="10" placeholder="plan's"/>
                </Field>
                <button class="button" type="submit">"Create key"</button>
            </ActionForm>
            <ErrorAlert message=error/>
            {move || fresh.get().map(|k| view! { <NewSecret key=k on_close=move || fresh.set(None)/> })}
        </PageCard>
        <section class="card">
            <Loaded resource=keys loading="Loading keys…" let:list>
                {if list.is_empty() {
                    view! { <EmptyState>"No keys yet."</EmptyState> }.into_any()
                } else {
                    view! { <KeyTable list rotate revoke limits/> }.into_any()
                }}
            </Loaded>
        </section>
    }
}

#[component]
fn NewSecret(key: ApiKeyWithSecret, on_close: impl Fn() + 'static) -> impl IntoView {
    view! {
        <div class="secret" role="status">
            <p><strong>{format!("Your new key “{}”", key.api_key.name)}</strong>
               " — copy it now: it will not be shown again."</p>
            <div class="secret-row">
                <code data-testid="new-key">{key.key.clone()}</code>
                <CopyButton text=key.key.clone()/>
                <button class="button secondary" type="button" on:click=move |_| on_close()>"Done"</button>
            </div>
        </div>
    }
}

#[component]
fn KeyTable(
    list: Vec<ApiKey>,
    rotate: ServerAction<RotateKey>,
    revoke: ServerAction<RevokeKey>,
    limits: ServerAction<SetKeyLimits>,
) -> impl IntoView {
    view! {
        <DataTable class="ops keys"
            headers=&["Name", "Key", "Created", "Last used", "Expires", "Limits", "State", ""]>
            {list.into_iter().map(|k| {
                let state = k.status;
                let active = state == ApiKeyStatus::Active;
                let id = k.id;
                view! {
                    <tr data-key-name=k.name.clone()>
                        <td>{k.name.clone()}</td>
                        <td><code>{format!("{}_…", k.prefix)}</code></td>
                        <td>{time::absolute(k.created_at)}</td>
                        <td>{time::absolute_or(k.last_used_at, "—")}</td>
                        <td>{time::absolute_or(k.expires_at, "—")}</td>
                        <td><KeyLimits key=k.clone() limits active/></td>
                        <td><span class=format!("state state-{state}")>{state.as_str()}</span></td>
                        <td class="actions">
                            <Show when=move || active>
                                <button class="button secondary" type="button"
                                    on:click=move |_| { rotate.dispatch(RotateKey { id }); }>"Rotate"</button>
                                <button class="button danger" type="button"
                                    on:click=move |_| { revoke.dispatch(RevokeKey { id }); }>"Revoke"</button>
                            </Show>
                        </td>
                    </tr>
                }
            }).collect_view()}
        </DataTable>
    }
}

/// A key's own limits, and (while it is active) a form to change them.
#[component]
fn KeyLimits(key: ApiKey, limits: ServerAction<SetKeyLimits>, active: bool) -> impl IntoView {
    let shown = match (key.requests_per_minute, key.tokens_per_minute) {
        (None, None) => "Plan's".to_owned(),
        (rpm, tpm) => [
            rpm.map(|n| format!("{n} req/min")),
            tpm.map(|n| format!("{n} tok/min")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · "),
    };
    let rpm = key
        .requests_per_minute
        .map(|n| n.to_string())
        .unwrap_or_default();
    let tpm = key
        .tokens_per_minute
        .map(|n| n.to_string())
        .unwrap_or_default();
    view! {
        <span data-testid="key-limits">{shown}</span>
        {active.then(|| view! {
            <details class="limits">
                <summary>"Change"</summary>
                <ActionForm action=limits attr:class="inline-form">
                    <input type="hidden" name="id" value=key.id.to_string()/>
                    <Field label="Requests per minute">
                        <input name="requests_per_minute" inputmode="numeric" size="8" value=rpm.clone() placeholder="plan's"/>
                    </Field>
                    <Field label="Tokens per minute">
                        <input name="tokens_per_minute" inputmode="numeric" size="10" value=tpm.clone() placeholder="plan's"/>
                    </Field>
                    <button class="button secondary" type="submit">"Save limits"</button>
                </ActionForm>
            </details>
        })}
    }
}
