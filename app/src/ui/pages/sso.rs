//! Single sign-on settings (admins): the organisation's identity providers (add, test, edit,
//! enable or disable, delete), our SAML service provider metadata, and the SSO policy. Also the
//! signed-in user's linked identities, shown on the profile page.

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use super::{SignedIn, error_of, is_admin};
use crate::contract::ErrorBody;
use crate::contract::ids::SsoProviderId;
use crate::contract::kinds::SsoKind;
use crate::contract::sso::{LinkedIdentity, SsoPolicy, SsoProvider, SsoTestResult};
use crate::fns::sso::{
    CreateSsoProvider, DeleteSsoProvider, PutSsoPolicy, TestSsoProvider, UnlinkIdentity,
    UpdateSsoProvider, get_sso_policy, list_sso_providers, my_identities,
};
use crate::ui::components::{
    CheckField, ConfirmDelete, CopyButton, EmptyState, ErrorAlert, Field, Loaded, Notice, PageCard,
    SaveOutcome, SubmitButton, time,
};

/// Where our SAML service provider metadata is served.
const SP_METADATA: &str = "/auth/saml/metadata";

/// The `/admin/sso` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct SsoSettingsRoute;

#[lazy_route]
impl LazyRoute for SsoSettingsRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <SsoSettingsPage/> }.into_any()
    }
}

#[component]
pub fn SsoSettingsPage() -> impl IntoView {
    view! {
        <SignedIn title="Single sign-on" let:user>
            {if is_admin(&user) {
                view! { <SsoAdmin/> }.into_any()
            } else {
                view! {
                    <PageCard title="Single sign-on">
                        <p class="muted">"Only organisation admins can configure single sign-on."</p>
                    </PageCard>
                }.into_any()
            }}
        </SignedIn>
    }
}

fn kind_label(kind: SsoKind) -> &'static str {
    match kind {
        SsoKind::Google => "Google",
        SsoKind::Microsoft => "Microsoft Entra ID",
        SsoKind::Github => "GitHub",
        SsoKind::Nextcloud => "Nextcloud",
        SsoKind::Oidc => "OpenID Connect (Keycloak, Okta, Authentik…)",
        SsoKind::Saml => "SAML 2.0",
    }
}

/// The kind in a few words (cards, the profile).
fn kind_name(kind: SsoKind) -> &'static str {
    match kind {
        SsoKind::Google => "Google",
        SsoKind::Microsoft => "Microsoft",
        SsoKind::Github => "GitHub",
        SsoKind::Nextcloud => "Nextcloud",
        SsoKind::Oidc => "OpenID Connect",
        SsoKind::Saml => "SAML",
    }
}

/// The `UpdateSsoProvider` call that only turns a provider on or off.
fn toggle(id: SsoProviderId, enabled: bool) -> UpdateSsoProvider {
    UpdateSsoProvider {
        id,
        name: None,
        enabled: Some(enabled),
        client_id: None,
        client_secret: None,
        remove_secret: None,
        issuer: None,
        tenant: None,
        groups_attribute: None,
        metadata_xml: None,
        metadata_url: None,
        allow_idp_initiated: None,
        trusted_email_domains: None,
    }
}

/// What the page shares with the provider cards: the list-changing actions, and which
/// provider the last test or toggle was for (the list re-renders after them).
#[derive(Clone, Copy)]
struct Shared {
    delete: ServerAction<DeleteSsoProvider>,
    test: ServerAction<TestSsoProvider>,
    tested: RwSignal<Option<SsoProviderId>>,
    switch: ServerAction<UpdateSsoProvider>,
    switched: RwSignal<Option<SsoProviderId>>,
    changes: RwSignal<u32>,
}

#[component]
fn SsoAdmin() -> impl IntoView {
    let create = ServerAction::<CreateSsoProvider>::new();
    let shared = Shared {
        delete: ServerAction::new(),
        test: ServerAction::new(),
        tested: RwSignal::new(None),
        switch: ServerAction::new(),
        switched: RwSignal::new(None),
        changes: RwSignal::new(0),
    };
    let providers = Resource::new(
        move || {
            (
                create.version().get(),
                shared.delete.version().get(),
                shared.test.version().get(),
                shared.switch.version().get(),
                shared.changes.get(),
            )
        },
        |_| list_sso_providers(),
    );
    view! {
        <PageCard title="Single sign-on">
            <p>
                "Let your organisation's members sign in with their identity provider: Google, "
                "Microsoft Entra ID, GitHub, Nextcloud, any OpenID Connect issuer, or SAML 2.0. "
                "Register the callback URL shown for each provider at the identity provider."
            </p>
            <p class="copy-row">
                <a class="button secondary" href=SP_METADATA download="aerie-sp-metadata.xml"
                    data-testid="sp-metadata">"Download our SAML metadata"</a>
                <span class="muted">"SAML identity providers can also fetch it from "
                    <a href=SP_METADATA rel="external"><code>{SP_METADATA}</code></a> " on this server."</span>
            </p>
            <ErrorAlert message=error_of(shared.delete)/>
            <Loaded resource=providers loading="Loading identity providers…" let:list>
                {if list.is_empty() {
                    view! {
                        <EmptyState>"No identity provider yet: members sign in with a password."</EmptyState>
                    }.into_any()
                } else {
                    view! {
                        <div class="sso-providers">
                            {list.into_iter().map(|p| view! { <ProviderCard provider=p shared/> }).collect_view()}
                        </div>
                    }.into_any()
                }}
            </Loaded>
        </PageCard>
        <AddProvider create/>
        <PolicyForm/>
    }
}

#[component]
fn ProviderCard(provider: SsoProvider, shared: Shared) -> impl IntoView {
    let id = provider.id;
    let enabled = provider.enabled;
    let editing = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let name = provider.name.clone();
    let (state, state_class) = if enabled {
        ("enabled", "state state-active")
    } else {
        ("disabled", "state state-disabled")
    };
    let edit_provider = provider.clone();
    let kind = kind_name(provider.kind);
    view! {
        <article class="sso-provider" data-provider=name.clone()>
            <header>
                <h2>{name.clone()}</h2>
                <span class="kind">{kind}</span>
                <span class=state_class data-testid="sso-state">{state}</span>
            </header>
            <ProviderFacts provider/>
            <div class="form-actions">
                <button class="button secondary" type="button"
                    disabled=move || shared.test.pending().get()
                    on:click=move |_| {
                        shared.tested.set(Some(id));
                        shared.test.dispatch(TestSsoProvider { id });
                    }>
                    {move || if shared.test.pending().get() && shared.tested.get() == Some(id) {
                        "Testing…"
                    } else {
                        "Test connection"
                    }}
                </button>
                <button class="button secondary" type="button"
                    disabled=move || shared.switch.pending().get()
                    on:click=move |_| {
                        shared.switched.set(Some(id));
                        shared.switch.dispatch(toggle(id, !enabled));
                    }>
                    {if enabled { "Disable" } else { "Enable" }}
                </button>
                <button class="button secondary" type="button"
                    aria-expanded=move || editing.get().to_string()
                    on:click=move |_| editing.update(|e| *e = !*e)>"Edit"</button>
                <button class="button danger" type="button"
                    on:click=move |_| confirming.set(true)>"Delete"</button>
            </div>
            {move || (shared.tested.get() == Some(id))
                .then(|| shared.test.value().get())
                .flatten()
                .map(|r| view! { <TestOutcome result=r/> })}
            <ErrorAlert message=move || (shared.switched.get() == Some(id))
                .then(|| error_of(shared.switch)())
                .flatten()/>
            <ConfirmDelete open=confirming
                question=format!(
                    "Delete “{name}”? Its linked identities are removed: people who signed in \
                     with it need another way in."
                )
                on_confirm=move || { shared.delete.dispatch(DeleteSsoProvider { id }); }/>
            <Show when=move || editing.get()>
                <EditProvider provider=edit_provider.clone() editing changes=shared.changes/>
            </Show>
        </article>
    }
}

/// What a provider card lists: the URLs to register at the identity provider, the settings,
/// the last sign-in and error.
#[component]
fn ProviderFacts(provider: SsoProvider) -> impl IntoView {
    let saml = provider.kind == SsoKind::Saml;
    let issuer_term = if saml { "IdP entity ID" } else { "Issuer" };
    let secret = if provider.has_client_secret {
        "stored"
    } else {
        "none"
    };
    let last_error = provider.last_error.clone().map(|e| {
        view! {
            <dt>"Last error"</dt>
            <dd class="bad" data-testid="sso-last-error">
                {format!("{e} ({})", time::absolute_or(provider.last_error_at, "never"))}
            </dd>
        }
    });
    let fingerprints = (!provider.certificate_fingerprints.is_empty()).then(|| {
        view! {
            <dt>"Signing certificates"</dt>
            <dd>{provider.certificate_fingerprints.iter().map(|f| view! {
                <code class="fingerprint">{f.clone()}</code>
            }).collect_view()}</dd>
        }
    });
    view! {
        <dl class="facts">
            <dt>{if saml { "ACS URL" } else { "Callback URL" }}</dt>
            <dd><CopyText text=provider.callback_url.clone()/></dd>
            {provider.issuer.clone().map(|i| view! { <dt>{issuer_term}</dt><dd><code>{i}</code></dd> })}
            {provider.sso_url.clone().map(|u| view! { <dt>"IdP sign-in URL"</dt><dd><code>{u}</code></dd> })}
            {provider.client_id.clone().map(|c| view! {
                <dt>"Client ID"</dt><dd><code>{c}</code></dd>
                <dt>"Client secret"</dt><dd data-testid="sso-secret">{secret}</dd>
            })}
            {provider.groups_attribute.clone().map(|g| view! { <dt>"Groups attribute"</dt><dd><code>{g}</code></dd> })}
            {saml.then(|| view! {
                <dt>"IdP-initiated sign-in"</dt>
                <dd data-testid="sso-idp-initiated">
                    {if provider.allow_idp_initiated { "allowed" } else { "refused" }}
                </dd>
            })}
            {fingerprints}
            <dt>"Links existing accounts"</dt>
            <dd data-testid="sso-trusted-domains">
                {if provider.trusted_email_domains.is_empty() {
                    "only after the person signs in to the account".to_owned()
                } else {
                    format!("by email, for {} (authoritative)", provider.trusted_email_domains.join(", "))
                }}
            </dd>
            <dt>"Vouches up to"</dt>
            <dd data-testid="sso-max-role">{format!(
                "{}: the role of whoever last changed it; higher accounts must prove themselves",
                provider.max_role
            )}</dd>
            <dt>"Last sign-in"</dt>
            <dd data-testid="sso-last-login">{time::absolute_or(provider.last_login_at, "never")}</dd>
            {last_error}
        </dl>
    }
}

#[component]
fn TestOutcome(result: Result<SsoTestResult, ErrorBody>) -> impl IntoView {
    match result {
        Ok(r) if r.ok => view! {
            <p class="check ok" role="status" data-testid="sso-test">{format!("✓ {}", r.detail)}</p>
        }
        .into_any(),
        Ok(r) => view! {
            <p class="check error" role="status" data-testid="sso-test">{format!("✗ {}", r.detail)}</p>
        }
        .into_any(),
        Err(e) => view! { <p class="check error" role="alert">{e.detail}</p> }.into_any(),
    }
}

/// A value to copy into another system's settings, with a copy button.
#[component]
fn CopyText(text: String) -> impl IntoView {
    view! {
        <span class="copy-row">
            <code>{text.clone()}</code>
            <CopyButton text class="button secondary small"/>
        </span>
    }
}

#[component]
fn EditProvider(
    provider: SsoProvider,
    editing: RwSignal<bool>,
    changes: RwSignal<u32>,
) -> impl IntoView {
    let update = ServerAction::<UpdateSsoProvider>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = update.value().get() {
            editing.set(false);
            changes.update(|n| *n += 1);
        }
    });
    let kind = provider.kind;
    let saml = kind == SsoKind::Saml;
    let issuer_label = match kind {
        SsoKind::Oidc => Some("Issuer URL"),
        SsoKind::Nextcloud => Some("Nextcloud URL"),
        SsoKind::Github => Some("GitHub Enterprise URL"),
        SsoKind::Google | SsoKind::Microsoft | SsoKind::Saml => None,
    };
    let idp_initiated = provider.allow_idp_initiated;
    let trusted = provider.trusted_email_domains.join(", ");
    view! {
        <ActionForm action=update attr:class="sso-edit" attr:aria-label="Edit provider">
            <input type="hidden" name="id" value=provider.id.to_string()/>
            <div class="form-row">
                <Field label="Name"><input name="name" required maxlength="100" value=provider.name.clone()/></Field>
                <Field label="Groups attribute">
                    <input name="groups_attribute" value=provider.groups_attribute.clone().unwrap_or_default()
                        placeholder="empty: no group sync"/>
                </Field>
            </div>
            {(!saml).then(|| view! {
                <div class="form-row">
                    <Field label="Client ID">
                        <input name="client_id" required autocomplete="off" value=provider.client_id.clone().unwrap_or_default()/>
                    </Field>
                    <Field label="New client secret">
                        <input name="client_secret" type="password" autocomplete="new-password" placeholder="empty: keep"/>
                    </Field>
                </div>
                {provider.has_client_secret.then(|| view! {
                    <CheckField label=" Remove the client secret">
                        <input type="checkbox" name="remove_secret" value="true"/>
                    </CheckField>
                })}
            })}
            {issuer_label.map(|label| view! {
                <Field label>
                    <input name="issuer" type="url" value=provider.issuer.clone().unwrap_or_default()/>
                </Field>
            })}
            // The issuer follows the tenant.
            {(kind == SsoKind::Microsoft).then(|| view! {
                <input type="hidden" name="issuer" value=""/>
                <Field label="Microsoft tenant">
                    <input name="tenant" value=provider.tenant.clone().unwrap_or_default()
                        placeholder="organizations, common, or a tenant ID or domain"/>
                </Field>
            })}
            {saml.then(|| view! {
                <Field label="New metadata URL">
                    <input name="metadata_url" type="url" placeholder="empty: keep (a stored URL is fetched again)"/>
                </Field>
                <Field label="New metadata XML">
                    <textarea name="metadata_xml" rows="4" placeholder="empty: keep"></textarea>
                </Field>
                <Field label="IdP-initiated sign-in">
                    <select name="allow_idp_initiated">
                        <option value="false" selected=!idp_initiated>"Refused"</option>
                        <option value="true" selected=idp_initiated>"Allowed"</option>
                    </select>
                </Field>
            })}
            <Field label="Authoritative for email domains">
                <input name="trusted_email_domains" value=trusted
                    placeholder="empty: linking always needs the person's proof"/>
            </Field>
            <p class="warning" role="note" data-testid="sso-trusted-warning">
                "Warning: for these domains (each one of the SSO policy's), anyone this identity "
                "provider calls by an email is linked to the Aerie account with that email without "
                "signing in to it. Only list domains whose accounts this provider alone manages, "
                "and whose users cannot change their own email there. Owners are never linked "
                "this way."
            </p>
            <div class="form-actions">
                <SubmitButton label="Save" busy="Saving…" pending=update.pending()/>
                <button class="button secondary" type="button" on:click=move |_| editing.set(false)>"Cancel"</button>
            </div>
        </ActionForm>
        <ErrorAlert message=error_of(update)/>
    }
}

#[component]
fn AddProvider(create: ServerAction<CreateSsoProvider>) -> impl IntoView {
    let kind = RwSignal::new(SsoKind::Oidc);
    let form = NodeRef::<leptos::html::Form>::new();
    let added = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(Ok(p)) = create.value().get() {
            added.set(Some(p.name));
            kind.set(SsoKind::Oidc);
            if let Some(form) = form.get_untracked() {
                form.reset();
            }
        }
    });
    let issuer_label = move || match kind.get() {
        SsoKind::Oidc => Some(("Issuer URL", "https://idp.example.com/realms/acme")),
        SsoKind::Nextcloud => Some(("Nextcloud URL", "https://cloud.example.com")),
        SsoKind::Github => Some(("GitHub Enterprise URL", "empty: github.com")),
        SsoKind::Google | SsoKind::Microsoft | SsoKind::Saml => None,
    };
    view! {
        <section class="card" data-testid="sso-add">
            <h2>"Add an identity provider"</h2>
            <ActionForm action=create node_ref=form attr:aria-label="Add an identity provider">
                <div class="form-row">
                    <Field label="Kind">
                        <select name="kind" on:change=move |ev| {
                            if let Ok(k) = event_target_value(&ev).parse::<SsoKind>() {
                                kind.set(k);
                            }
                        }>
                            {SsoKind::ALL.iter().map(|k| view! {
                                <option value=k.as_str() selected=*k == SsoKind::Oidc>{kind_label(*k)}</option>
                            }).collect_view()}
                        </select>
                    </Field>
                    <Field label="Name">
                        <input name="name" maxlength="100" placeholder="on the button: Sign in with …"/>
                    </Field>
                </div>
                <Show when=move || kind.get() != SsoKind::Saml>
                    <div class="form-row">
                        <Field label="Client ID"><input name="client_id" autocomplete="off"/></Field>
                        <Field label="Client secret"
                            hint="Stored encrypted, never shown again. Optional for public OpenID Connect clients.">
                            <input name="client_secret" type="password" autocomplete="new-password"/>
                        </Field>
                    </div>
                </Show>
                {move || issuer_label().map(|(label, placeholder)| view! {
                    <Field label>
                        <input name="issuer" type="url" placeholder=placeholder/>
                    </Field>
                })}
                <Show when=move || kind.get() == SsoKind::Microsoft>
                    <Field label="Microsoft tenant">
                        <input name="tenant" placeholder="organizations, common, or a tenant ID or domain"/>
                    </Field>
                </Show>
                <Show when=move || kind.get() == SsoKind::Saml>
                    <Field label="Metadata URL">
                        <input name="metadata_url" type="url" placeholder="https://idp.example.com/metadata"/>
                    </Field>
                    <Field label="Metadata XML">
                        <textarea name="metadata_xml" rows="5" placeholder="or paste the identity provider's metadata"></textarea>
                    </Field>
                    <CheckField label=" Allow IdP-initiated sign-in (logins the identity provider starts)">
                        <input type="checkbox" name="allow_idp_initiated" value="true"/>
                    </CheckField>
                </Show>
                <Field label="Groups attribute"
                    hint="The claim or attribute listing the user's groups; groups of the same name here are kept in sync at each sign-in. Empty: no group sync.">
                    <input name="groups_attribute" placeholder="e.g. groups"/>
                </Field>
                <SubmitButton label="Add provider" busy="Checking…" pending=create.pending()/>
            </ActionForm>
            <ErrorAlert message=error_of(create)/>
            {move || matches!(create.value().get(), Some(Ok(_))).then(|| added.get()).flatten().map(|n| view! {
                <Notice>{format!("Added “{n}”.")}</Notice>
            })}
        </section>
    }
}

#[component]
fn PolicyForm() -> impl IntoView {
    let save = ServerAction::<PutSsoPolicy>::new();
    let policy = Resource::new(move || save.version().get(), |_| get_sso_policy());
    view! {
        <section class="card" data-testid="sso-policy">
            <h2>"Policy"</h2>
            <Loaded resource=policy let:policy>
                <PolicyFields policy save/>
            </Loaded>
            <SaveOutcome action=save saved="Policy saved."/>
        </section>
    }
}

#[component]
fn PolicyFields(policy: SsoPolicy, save: ServerAction<PutSsoPolicy>) -> impl IntoView {
    view! {
        <ActionForm action=save attr:aria-label="Single sign-on policy">
            <Field label="Email domains"
                hint="Comma-separated. The login page sends people with these email addresses to your \
                      identity providers; single sign-on may link or create their accounts.">
                <input name="email_domains" value=policy.email_domains.join(", ") placeholder="example.com, example.org"/>
            </Field>
            {(!policy.awaiting_approval.is_empty()).then(|| view! {
                <p class="muted" data-testid="awaiting-approval">
                    {format!(
                        "Awaiting the instance operator's approval: {}. Until approved, these domains only restrict who may sign in; they route, link and create nobody.",
                        policy.awaiting_approval.join(", ")
                    )}
                </p>
            })}
            <CheckField label=" Create accounts at first sign-in (just-in-time provisioning) for these domains">
                <input type="checkbox" name="jit_provisioning" value="true" checked=policy.jit_provisioning/>
            </CheckField>
            <CheckField label=" Members sign in only with single sign-on (owners keep their password)">
                <input type="checkbox" name="sso_only" value="true" checked=policy.sso_only/>
            </CheckField>
            <SubmitButton label="Save policy" pending=save.pending()/>
        </ActionForm>
    }
}

/// The signed-in user's linked identities, each with an Unlink button (refused for the last
/// way in).
#[component]
pub(crate) fn LinkedIdentities() -> impl IntoView {
    let unlink = ServerAction::<UnlinkIdentity>::new();
    let identities = Resource::new(move || unlink.version().get(), |_| my_identities());
    view! {
        <section class="card narrow" data-testid="linked-identities">
            <h2>"Sign-in identities"</h2>
            <Loaded resource=identities let:list>
                {if list.is_empty() {
                    view! {
                        <EmptyState>
                            "No identity provider is linked to your account. Signing in with your "
                            "organisation's single sign-on links it."
                        </EmptyState>
                    }.into_any()
                } else {
                    view! {
                        <ul class="identities">
                            {list.into_iter().map(|i| view! { <IdentityItem identity=i unlink/> }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </Loaded>
            <ErrorAlert message=error_of(unlink)/>
        </section>
    }
}

#[component]
fn IdentityItem(identity: LinkedIdentity, unlink: ServerAction<UnlinkIdentity>) -> impl IntoView {
    let id = identity.id;
    let kind = identity
        .kind
        .map(|k| format!(" ({})", kind_name(k)))
        .unwrap_or_default();
    view! {
        <li data-identity=identity.provider_name.clone()>
            <div>
                <strong>{identity.provider_name.clone()}</strong>{kind}
                <br/>
                <span class="muted">
                    {identity.email.clone().unwrap_or_default()}
                    {format!(" · linked {} · last sign-in {}", time::absolute(identity.created_at), time::absolute_or(identity.last_login_at, "never"))}
                </span>
            </div>
            <button class="button secondary" type="button" disabled=move || unlink.pending().get()
                on:click=move |_| { unlink.dispatch(UnlinkIdentity { id }); }>"Unlink"</button>
        </li>
    }
}
