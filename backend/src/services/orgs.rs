//! Organisations: read and update (name, allowed domains, signup mode, public listing), the
//! public list, and signup settings.

use super::audit::{self, Event};
use super::validate;
use crate::actor::{Actor, Role};
use crate::db::entities::organizations;
use crate::store::{self, utc};
use crate::{AppContext, Error, Result};
use aerie_contract::ids::OrgId;
use aerie_contract::orgs::{Organization, PublicOrganization, SignupSettings, UpdateOrganization};

/// The organisation as answered; a signup mode the code does not know is an internal error.
pub fn dto(org: &organizations::Model) -> Result<Organization> {
    Ok(Organization {
        id: OrgId(org.id),
        slug: org.slug.clone(),
        name: org.name.clone(),
        allowed_domains: domains(org),
        plan: org.plan.clone(),
        signup_mode: org.signup_mode()?,
        public: is_public(org),
        created_at: utc(org.created_at),
    })
}

/// Whether the organisation is listed publicly (`settings.public`; off by default).
pub fn is_public(org: &organizations::Model) -> bool {
    org.settings
        .get("public")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

/// The organisation's `allowed_domains` (empty: every domain).
pub fn domains(org: &organizations::Model) -> Vec<String> {
    serde_json::from_value(org.allowed_domains.clone()).unwrap_or_default()
}

/// The role newcomers get, from the organisation's settings (absent, unknown or `owner`:
/// member).
pub fn default_role(org: &organizations::Model) -> Role {
    org.settings
        .get("default_role")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse::<Role>().ok())
        .filter(|r| *r != Role::Owner)
        .unwrap_or(Role::Member)
}

async fn current(ctx: &AppContext, org: OrgId) -> Result<organizations::Model> {
    store::orgs::find(ctx.db(), org)
        .await?
        .ok_or(Error::NotFound)
}

/// The caller's organisation(s) (`GET /v1/orgs/`).
pub async fn list_mine(ctx: &AppContext, actor: &Actor) -> Result<Vec<Organization>> {
    let p = actor.principal()?;
    Ok(vec![dto(&current(ctx, p.org_id).await?)?])
}

/// The caller's organisation by slug; another organisation's slug is not found.
pub async fn get_by_slug(ctx: &AppContext, actor: &Actor, slug: &str) -> Result<Organization> {
    let p = actor.principal()?;
    let org = current(ctx, p.org_id).await?;
    if org.slug != slug {
        return Err(Error::NotFound);
    }
    dto(&org)
}

/// The caller's organisation (`GET /api/organisation`).
pub async fn get(ctx: &AppContext, actor: &Actor) -> Result<Organization> {
    let p = actor.principal()?;
    dto(&current(ctx, p.org_id).await?)
}

fn valid_domains(raw: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for d in raw {
        // As documented (`validate::DOMAIN_SLUG_PATTERN`): ASCII letters, digits, `-_.`.
        let ok = !d.is_empty()
            && d.len() <= validate::DOMAIN_SLUG_MAX
            && d.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        let d = d.to_ascii_lowercase();
        if !ok {
            return Err(Error::invalid(
                "allowed_domains",
                format!("allowed_domains holds an invalid domain slug: {d:?}."),
            ));
        }
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

/// Updates name, allowed domains, signup mode and public listing (admins; `slug` must be the
/// caller's).
pub async fn update(
    ctx: &AppContext,
    actor: &Actor,
    slug: Option<&str>,
    input: UpdateOrganization,
) -> Result<Organization> {
    let p = actor.require_role(Role::Admin)?;
    let org = current(ctx, p.org_id).await?;
    if slug.is_some_and(|s| s != org.slug) {
        return Err(Error::NotFound);
    }
    let name = input
        .name
        .as_deref()
        .map(|n| validate::name("name", n, validate::PERSON_NAME_MAX))
        .transpose()?;
    let allowed = input
        .allowed_domains
        .as_deref()
        .map(valid_domains)
        .transpose()?;
    let before = dto(&org)?;
    let before_settings = org.settings.clone();
    let settings = input.public.map(|public| {
        let mut settings = before_settings;
        match settings.as_object_mut() {
            Some(map) => {
                map.insert("public".to_owned(), serde_json::json!(public));
            }
            None => settings = serde_json::json!({ "public": public }),
        }
        settings
    });
    let changes = store::orgs::OrgChanges {
        name,
        allowed_domains: allowed.map(|allowed| serde_json::json!(allowed)),
        signup_mode: input.signup_mode,
        settings,
    };
    let org =
        store::orgs::apply_changes(ctx.db(), p.org_id, org, changes, chrono::Utc::now()).await?;
    let after = dto(&org)?;
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("organization.updated").target("organization", org.id).details(serde_json::json!({
            "before": {"name": before.name, "allowed_domains": before.allowed_domains, "signup_mode": before.signup_mode, "public": before.public},
            "after": {"name": after.name, "allowed_domains": after.allowed_domains, "signup_mode": after.signup_mode, "public": after.public},
        })),
    )
    .await?;
    Ok(after)
}

/// `GET /auth/organizations/public`: names and slugs of the organisations marked public, only.
pub async fn list_public(ctx: &AppContext) -> Result<Vec<PublicOrganization>> {
    Ok(store::orgs::list_global(ctx.db())
        .await?
        .into_iter()
        .filter(is_public)
        .map(|o| PublicOrganization {
            slug: o.slug,
            name: o.name,
        })
        .collect())
}

/// `GET /auth/admin/signup-settings`.
pub async fn signup_settings(ctx: &AppContext, actor: &Actor) -> Result<SignupSettings> {
    let p = actor.require_role(Role::Admin)?;
    let org = current(ctx, p.org_id).await?;
    Ok(SignupSettings {
        mode: org.signup_mode()?,
        default_role: default_role(&org),
    })
}

/// `PUT /auth/admin/signup-settings`.
pub async fn put_signup_settings(
    ctx: &AppContext,
    actor: &Actor,
    input: SignupSettings,
) -> Result<SignupSettings> {
    let p = actor.require_role(Role::Admin)?;
    let role = match input.default_role {
        r if r != Role::Owner => r,
        _ => {
            return Err(Error::invalid(
                "default_role",
                "default_role must be member or admin.",
            ));
        }
    };
    let org = current(ctx, p.org_id).await?;
    let mut settings = org.settings.clone();
    if let Some(map) = settings.as_object_mut() {
        map.insert("default_role".to_owned(), serde_json::json!(role.as_str()));
    } else {
        settings = serde_json::json!({ "default_role": role.as_str() });
    }
    let changes = store::orgs::OrgChanges {
        signup_mode: Some(input.mode),
        settings: Some(settings),
        ..Default::default()
    };
    let org =
        store::orgs::apply_changes(ctx.db(), p.org_id, org, changes, chrono::Utc::now()).await?;
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("signup_settings.updated")
            .target("organization", org.id)
            .details(serde_json::json!({ "mode": input.mode, "default_role": role.as_str() })),
    )
    .await?;
    Ok(SignupSettings {
        mode: org.signup_mode()?,
        default_role: role,
    })
}
