//! API keys: create (the secret is shown once, with a copy button), rotate, revoke.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::contract::api_keys::{ApiKey, ApiKeyWithSecret};
use crate::fns::api_keys::{CreateKey, RevokeKey, RotateKey, list_keys};
use crate::ui::routes;
use crate::ui::session::use_session;

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let session = use_session();
    view! {
        <Title text="API keys"/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || session.user.get().map(|u| match u {
                Ok(Some(_)) => view! { <KeysManager/> }.into_any(),
                _ => view! {
                    <section class="card narrow">
                        <h1>"API keys"</h1>
                        <p>"Sign in to manage your API keys."</p>
                        <p><a class="button" href=routes::LOGIN>"Sign in"</a></p>
                    </section>
                }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn KeysManager() -> impl IntoView {
    let create = ServerAction::<CreateKey>::new();
    let rotate = ServerAction::<RotateKey>::new();
    let revoke = ServerAction::<RevokeKey>::new();
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
    let error = move || {
        [create.value().get(), rotate.value().get()]
            .into_iter()
            .flatten()
            .find_map(Result::err)
            .map(|e| e.detail)
            .or_else(|| revoke.value().get().and_then(Result::err).map(|e| e.detail))
    };

    view! {
        <section class="card">
            <h1>"API keys"</h1>
            <p>
                "Keys let programs call Aerie as you: send "
                <code>"Authorization: Bearer <key>"</code> " or " <code>"X-API-Key: <key>"</code> "."
            </p>
            <ActionForm action=create attr:class="inline-form">
                <label>"Name" <input name="name" required maxlength="100" placeholder="ci-deploy"/></label>
                <label>"Expires"
                    <select name="expires_at">
                        <option value="">"Never"</option>
                        <option value="30d">"In 30 days"</option>
                        <option value="90d" selected>"In 90 days"</option>
                        <option value="365d">"In a year"</option>
                    </select>
                </label>
                <button class="button" type="submit">"Create key"</button>
            </ActionForm>
            {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || fresh.get().map(|k| view! { <NewSecret key=k on_close=move || fresh.set(None)/> })}
        </section>
        <section class="card">
            <Transition fallback=|| view! { <p>"Loading keys…"</p> }>
                {move || keys.get().map(|r| match r {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"No keys yet."</p> }.into_any(),
                    Ok(list) => view! { <KeyTable list rotate revoke/> }.into_any(),
                    Err(e) => view! { <p class="error">{e.detail}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn NewSecret(key: ApiKeyWithSecret, on_close: impl Fn() + 'static) -> impl IntoView {
    let secret = key.key.clone();
    let (copied, set_copied) = signal(false);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(window) = web_sys::window() {
            let _ = window.navigator().clipboard().write_text(&secret);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &secret;
        set_copied.set(true);
    };
    view! {
        <div class="secret" role="status">
            <p><strong>{format!("Your new key “{}”", key.api_key.name)}</strong>
               " — copy it now: it will not be shown again."</p>
            <div class="secret-row">
                <code data-testid="new-key">{key.key.clone()}</code>
                <button class="button" type="button" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
                <button class="button secondary" type="button" on:click=move |_| on_close()>"Done"</button>
            </div>
        </div>
    }
}

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(
        || "—".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

#[component]
fn KeyTable(
    list: Vec<ApiKey>,
    rotate: ServerAction<RotateKey>,
    revoke: ServerAction<RevokeKey>,
) -> impl IntoView {
    view! {
        <table class="ops keys">
            <thead><tr>
                <th>"Name"</th><th>"Key"</th><th>"Created"</th><th>"Last used"</th><th>"Expires"</th><th>"State"</th><th></th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|k| {
                    let state = k.status.clone();
                    let active = state == "active";
                    let id = k.id;
                    view! {
                        <tr data-key-name=k.name.clone()>
                            <td>{k.name.clone()}</td>
                            <td><code>{format!("{}_…", k.prefix)}</code></td>
                            <td>{when(Some(k.created_at))}</td>
                            <td>{when(k.last_used_at)}</td>
                            <td>{when(k.expires_at)}</td>
                            <td><span class=format!("state state-{state}")>{state.clone()}</span></td>
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
            </tbody>
        </table>
    }
}
