//! Providers: the upstream LLM endpoints of an organisation. Admins add, change, test and remove
//! them; every member may list them (without secrets) to pick a model for an agent. Secrets are
//! sealed with the instance key; base URLs pass the SSRF guard unless the operator allows
//! private addresses (`AERIE_ALLOW_PRIVATE_PROVIDER_URLS`). One pooled client per provider is
//! kept and rebuilt when the provider changes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::audit::{self, Event};
use super::validate;
use crate::actor::{Actor, Role};
use crate::db::entities::providers;
use crate::llm::LlmClient;
use crate::store::{self, utc};
use crate::{AppContext, Error, Result, crypto, net_guard};
use aerie_contract::ErrorCode;
use aerie_contract::ids::{OrgId, ProviderId};
use aerie_contract::providers::{
    NewProvider, Provider, ProviderCheck, ProviderModel, UpdateProvider,
};

/// The id of the provider configured with `AERIE_OPENAI_*` (shared by every organisation).
pub const CONFIGURED: ProviderId = ProviderId(Uuid::nil());
const SEAL_LABEL: &str = "provider-api-key";
const DEFAULT_TIMEOUT_SECS: u32 = 120;

/// What the chat engine needs to call a provider.
#[derive(Clone, Debug)]
pub struct ResolvedProvider {
    pub id: ProviderId,
    pub client: LlmClient,
    pub models: Vec<ProviderModel>,
}

impl ResolvedProvider {
    /// Whether `model` accepts images; unknown models (no list) are assumed not to.
    pub fn vision(&self, model: &str) -> bool {
        self.models.iter().any(|m| m.id == model && m.vision)
    }
}

/// Built clients, keyed by provider and the version they were built from. A resolved provider
/// is reused without reading the database for [`FRESH`]; every change on this instance drops
/// it at once, changes made through another instance show within [`FRESH`].
#[derive(Default)]
pub struct ClientCache {
    clients: Mutex<HashMap<ProviderId, Cached>>,
}

struct Cached {
    version: DateTime<Utc>,
    client: LlmClient,
    org: Option<OrgId>,
    models: Vec<ProviderModel>,
    checked: Instant,
}

const FRESH: std::time::Duration = std::time::Duration::from_secs(5);

impl ClientCache {
    fn get(&self, id: ProviderId, version: DateTime<Utc>) -> Option<LlmClient> {
        let map = self.clients.lock().ok()?;
        map.get(&id)
            .filter(|c| c.version == version)
            .map(|c| c.client.clone())
    }

    /// A provider of `org` resolved less than [`FRESH`] ago.
    fn fresh(&self, org: OrgId, id: ProviderId) -> Option<ResolvedProvider> {
        let map = self.clients.lock().ok()?;
        map.get(&id)
            .filter(|c| c.org == Some(org) && c.checked.elapsed() < FRESH)
            .map(|c| ResolvedProvider {
                id,
                client: c.client.clone(),
                models: c.models.clone(),
            })
    }

    fn put(&self, id: ProviderId, version: DateTime<Utc>, client: LlmClient) {
        self.put_resolved(id, version, client, None, Vec::new());
    }

    fn put_resolved(
        &self,
        id: ProviderId,
        version: DateTime<Utc>,
        client: LlmClient,
        org: Option<OrgId>,
        models: Vec<ProviderModel>,
    ) {
        if let Ok(mut map) = self.clients.lock() {
            map.insert(
                id,
                Cached {
                    version,
                    client,
                    org,
                    models,
                    checked: Instant::now(),
                },
            );
        }
    }

    fn forget(&self, id: ProviderId) {
        if let Ok(mut map) = self.clients.lock() {
            map.remove(&id);
        }
    }
}

fn models_of(json: &serde_json::Value) -> Vec<ProviderModel> {
    serde_json::from_value(json.clone()).unwrap_or_default()
}

fn hint(secret: &str) -> String {
    let tail: String = secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

fn to_dto(p: &providers::Model) -> Provider {
    Provider {
        id: ProviderId(p.id),
        name: p.name.clone(),
        kind: p.kind.clone(),
        base_url: p.base_url.clone(),
        has_api_key: p.api_key_enc.is_some(),
        api_key_hint: p.api_key_hint.clone(),
        models: models_of(&p.models),
        timeout_secs: u32::try_from(p.timeout_secs).unwrap_or(DEFAULT_TIMEOUT_SECS),
        source: "organization".to_owned(),
        created_at: utc(p.created_at),
        updated_at: utc(p.updated_at),
    }
}

/// The provider from `AERIE_OPENAI_*`, if configured.
fn configured(ctx: &AppContext) -> Option<Provider> {
    let c = ctx.config();
    if c.openai_api_key.0.is_empty() && c.openai_base_url.is_empty() {
        return None;
    }
    let base_url = if c.openai_base_url.is_empty() {
        "https://api.openai.com/v1".to_owned()
    } else {
        c.openai_base_url.clone()
    };
    let started = ctx.started_at_utc();
    Some(Provider {
        id: CONFIGURED,
        name: "Configured (AERIE_OPENAI_*)".to_owned(),
        kind: "openai_compatible".to_owned(),
        base_url,
        has_api_key: !c.openai_api_key.0.is_empty(),
        api_key_hint: (!c.openai_api_key.0.is_empty()).then(|| hint(&c.openai_api_key.0)),
        models: c
            .openai_models
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(|id| ProviderModel {
                id: id.to_owned(),
                vision: false,
            })
            .collect(),
        timeout_secs: DEFAULT_TIMEOUT_SECS,
        source: "configuration".to_owned(),
        created_at: started,
        updated_at: started,
    })
}

async fn checked_base_url(ctx: &AppContext, raw: &str) -> Result<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Error::invalid("base_url", "base_url field is required."));
    }
    let allow_private = ctx.config().allow_private_provider_urls;
    let url = net_guard::check_url_resolved(raw, allow_private)
        .await
        .map_err(|e| {
            let mut detail = format!("base_url is not allowed: {e}");
            if matches!(e, net_guard::GuardError::ForbiddenAddress(_)) {
                detail.push_str(
                    " For a local model server (Ollama, vLLM), the operator can set AERIE_ALLOW_PRIVATE_PROVIDER_URLS=true.",
                );
            }
            Error::invalid("base_url", detail)
        })?;
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn checked_models(models: Vec<ProviderModel>) -> Result<Vec<ProviderModel>> {
    let mut out: Vec<ProviderModel> = Vec::new();
    for m in models {
        let Ok(id) = validate::name("models", &m.id, validate::TITLE_MAX) else {
            return Err(Error::invalid(
                "models",
                "every model needs an id of at most 200 printable characters.",
            ));
        };
        if !out.iter().any(|o| o.id == id) {
            out.push(ProviderModel {
                id,
                vision: m.vision,
            });
        }
    }
    Ok(out)
}

fn checked_timeout(t: Option<u32>) -> Result<u32> {
    match t {
        None => Ok(DEFAULT_TIMEOUT_SECS),
        Some(t) if (1..=3600).contains(&t) => Ok(t),
        Some(_) => Err(Error::invalid(
            "timeout_secs",
            "timeout_secs must be between 1 and 3600.",
        )),
    }
}

/// Asks the upstream for its models; a failure is the admin's to fix, so it is a 400.
async fn discover(client: &LlmClient) -> Result<Vec<ProviderModel>> {
    let ids = client.models().await.map_err(|e| {
        Error::invalid(
            "models",
            format!("Could not list the provider's models ({e}). Check the base URL and key, or enter the models by hand."),
        )
    })?;
    if ids.is_empty() {
        return Err(Error::invalid(
            "models",
            "The provider lists no models; enter them by hand.",
        ));
    }
    Ok(ids
        .into_iter()
        .map(|id| ProviderModel { id, vision: false })
        .collect())
}

pub async fn list(ctx: &AppContext, actor: &Actor) -> Result<Vec<Provider>> {
    of_org(ctx, actor.principal()?.org_id).await
}

/// The providers `org` may use: the configured one (if any), then its own by name.
pub async fn of_org(ctx: &AppContext, org: OrgId) -> Result<Vec<Provider>> {
    let mut out: Vec<Provider> = configured(ctx).into_iter().collect();
    out.extend(
        store::providers::list(ctx.db(), org)
            .await?
            .iter()
            .map(to_dto),
    );
    Ok(out)
}

pub async fn get(ctx: &AppContext, actor: &Actor, id: ProviderId) -> Result<Provider> {
    let p = actor.principal()?;
    if id == CONFIGURED {
        return configured(ctx).ok_or(Error::NotFound);
    }
    let row = store::providers::find(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(to_dto(&row))
}

pub async fn create(ctx: &AppContext, actor: &Actor, input: NewProvider) -> Result<Provider> {
    let p = actor.require_role(Role::Admin)?;
    let name = validate::name("name", &input.name, validate::NAME_MAX)?;
    let base_url = checked_base_url(ctx, &input.base_url).await?;
    let timeout = checked_timeout(input.timeout_secs)?;
    let secret = input
        .api_key
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .map(SecretString::from);
    let models = match input.models.filter(|m| !m.is_empty()) {
        Some(models) => checked_models(models)?,
        None => {
            let client = LlmClient::new(
                &base_url,
                secret.as_ref(),
                timeout.min(20),
                ctx.config().allow_private_provider_urls,
            )?;
            discover(&client).await?
        }
    };
    let sealed = secret
        .as_ref()
        .map(|s| crypto::seal(&ctx.secrets().encryption_key, SEAL_LABEL, s.expose_secret()))
        .transpose()?;
    let row = store::providers::create(
        ctx.db(),
        store::providers::NewProvider {
            org: p.org_id,
            name,
            base_url,
            api_key_enc: sealed,
            api_key_hint: secret.as_ref().map(|s| hint(s.expose_secret())),
            models: serde_json::to_value(&models).unwrap_or_default(),
            timeout_secs: i32::try_from(timeout).unwrap_or(120),
            now: Utc::now(),
        },
    )
    .await
    .map_err(Error::on_unique("name"))?;
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("provider.created").target("provider", row.id),
    )
    .await?;
    Ok(to_dto(&row))
}

pub async fn update(
    ctx: &AppContext,
    actor: &Actor,
    id: ProviderId,
    input: UpdateProvider,
) -> Result<Provider> {
    let p = actor.require_role(Role::Admin)?;
    if id == CONFIGURED {
        return Err(Error::Refused(
            "This provider comes from the server's configuration (AERIE_OPENAI_*); change it there.",
        ));
    }
    let row = store::providers::find(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    let name = input
        .name
        .as_deref()
        .map(|n| validate::name("name", n, validate::NAME_MAX))
        .transpose()?;
    let base_url = match input.base_url.as_deref() {
        Some(u) => Some(checked_base_url(ctx, u).await?),
        None => None,
    };
    let models = input.models.map(checked_models).transpose()?;
    let timeout = input
        .timeout_secs
        .map(|t| checked_timeout(Some(t)))
        .transpose()?;
    let secret = match input.api_key {
        None => None,
        Some(None) => Some(None),
        Some(Some(k)) if k.trim().is_empty() => Some(None),
        Some(Some(k)) => {
            let k = k.trim().to_owned();
            Some(Some((
                crypto::seal(&ctx.secrets().encryption_key, SEAL_LABEL, &k)?,
                hint(&k),
            )))
        }
    };
    let changes = store::providers::ProviderChanges {
        name,
        base_url,
        models: models.map(|models| serde_json::to_value(&models).unwrap_or_default()),
        timeout_secs: timeout.map(|t| i32::try_from(t).unwrap_or(120)),
        api_key: secret,
    };
    let row = store::providers::update(ctx.db(), p.org_id, row, changes, Utc::now())
        .await
        .map_err(Error::on_unique("name"))?;
    ctx.provider_clients().forget(id);
    ctx.agent_cache().clear();
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("provider.updated").target("provider", row.id),
    )
    .await?;
    Ok(to_dto(&row))
}

pub async fn delete(ctx: &AppContext, actor: &Actor, id: ProviderId) -> Result<()> {
    let p = actor.require_role(Role::Admin)?;
    if id == CONFIGURED {
        return Err(Error::Refused(
            "This provider comes from the server's configuration (AERIE_OPENAI_*); remove it there.",
        ));
    }
    store::providers::find(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    let users = store::agents::using_provider(ctx.db(), p.org_id, id).await?;
    if !users.is_empty() {
        return Err(Error::detailed(
            ErrorCode::Conflict,
            format!(
                "The provider is used by {} agent(s) ({}); move them to another provider first.",
                users.len(),
                users.join(", ")
            ),
        ));
    }
    let bases = store::knowledge_bases::using_provider(ctx.db(), p.org_id, id).await?;
    if !bases.is_empty() {
        return Err(Error::detailed(
            ErrorCode::Conflict,
            format!(
                "The provider embeds {} knowledge base(s) ({}); move them to another embedding model first.",
                bases.len(),
                bases.join(", ")
            ),
        ));
    }
    store::providers::delete(ctx.db(), p.org_id, id).await?;
    ctx.provider_clients().forget(id);
    ctx.agent_cache().clear();
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("provider.deleted").target("provider", id),
    )
    .await?;
    Ok(())
}

/// Calls the upstream's model list and says what happened.
pub async fn test(ctx: &AppContext, actor: &Actor, id: ProviderId) -> Result<ProviderCheck> {
    let p = actor.require_role(Role::Admin)?;
    if id != CONFIGURED
        && store::providers::find(ctx.db(), p.org_id, id)
            .await?
            .is_none()
    {
        return Err(Error::NotFound);
    }
    let resolved = resolve(ctx, p.org_id, Some(id)).await?;
    let started = Instant::now();
    let result = resolved.client.models().await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(match result {
        Ok(models) => ProviderCheck {
            ok: true,
            detail: format!("Connected: the provider lists {} model(s).", models.len()),
            models,
            latency_ms,
        },
        Err(e) => ProviderCheck {
            ok: false,
            models: Vec::new(),
            detail: e.to_string(),
            latency_ms,
        },
    })
}

fn no_provider() -> Error {
    Error::invalid(
        "provider_id",
        "No model provider is configured. An organisation admin can add one on the Providers page (/providers) or with POST /api/providers; the operator can also set AERIE_OPENAI_API_KEY and AERIE_OPENAI_BASE_URL.",
    )
}

/// Whether `id` names a provider of `org` (or the configured one, when there is one).
pub async fn exists(ctx: &AppContext, org: OrgId, id: ProviderId) -> Result<bool> {
    if id == CONFIGURED {
        return Ok(configured(ctx).is_some());
    }
    Ok(store::providers::find(ctx.db(), org, id).await?.is_some())
}

/// The client for a provider of `org` (`None`: the configured provider).
pub async fn resolve(
    ctx: &AppContext,
    org: OrgId,
    id: Option<ProviderId>,
) -> Result<ResolvedProvider> {
    let allow_private = ctx.config().allow_private_provider_urls;
    match id {
        None | Some(CONFIGURED) => {
            let provider = configured(ctx).ok_or_else(no_provider)?;
            let client = match ctx.provider_clients().get(CONFIGURED, provider.updated_at) {
                Some(c) => c,
                None => {
                    let key = Some(SecretString::from(ctx.config().openai_api_key.0.clone()))
                        .filter(|k| !k.expose_secret().is_empty());
                    // The operator chose this URL: private addresses are allowed.
                    let c = LlmClient::new(
                        &provider.base_url,
                        key.as_ref(),
                        DEFAULT_TIMEOUT_SECS,
                        true,
                    )?;
                    ctx.provider_clients()
                        .put(CONFIGURED, provider.updated_at, c.clone());
                    c
                }
            };
            Ok(ResolvedProvider {
                id: CONFIGURED,
                client,
                models: provider.models,
            })
        }
        Some(id) => {
            if let Some(resolved) = ctx.provider_clients().fresh(org, id) {
                return Ok(resolved);
            }
            let row = store::providers::find(ctx.db(), org, id)
                .await?
                .ok_or_else(|| {
                    Error::invalid(
                        "provider_id",
                        "The agent's provider no longer exists; choose another provider for it.",
                    )
                })?;
            let version = utc(row.updated_at);
            let client = match ctx.provider_clients().get(id, version) {
                Some(c) => c,
                None => {
                    let key = row
                        .api_key_enc
                        .as_deref()
                        .map(|s| crypto::open(&ctx.secrets().encryption_key, SEAL_LABEL, s))
                        .transpose()?;
                    let timeout = u32::try_from(row.timeout_secs).unwrap_or(DEFAULT_TIMEOUT_SECS);
                    LlmClient::new(&row.base_url, key.as_ref(), timeout, allow_private)?
                }
            };
            let models = models_of(&row.models);
            ctx.provider_clients().put_resolved(
                id,
                version,
                client.clone(),
                Some(org),
                models.clone(),
            );
            Ok(ResolvedProvider { id, client, models })
        }
    }
}

/// Checks that a provider of `org` exists and serves `model` (when it lists its models).
pub async fn check_model(
    ctx: &AppContext,
    org: OrgId,
    id: Option<ProviderId>,
    model: &str,
) -> Result<()> {
    let models = match id {
        None | Some(CONFIGURED) => configured(ctx).ok_or_else(no_provider)?.models,
        Some(id) => {
            let row = store::providers::find(ctx.db(), org, id)
                .await?
                .ok_or_else(|| {
                    Error::invalid(
                        "provider_id",
                        "provider_id does not name a provider of your organisation.",
                    )
                })?;
            models_of(&row.models)
        }
    };
    if !models.is_empty() && !models.iter().any(|m| m.id == model) {
        let known: Vec<&str> = models.iter().map(|m| m.id.as_str()).take(20).collect();
        return Err(Error::invalid(
            "model",
            format!(
                "The provider does not offer model `{model}`; it offers: {}.",
                known.join(", ")
            ),
        ));
    }
    Ok(())
}
