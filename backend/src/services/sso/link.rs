//! Linking an identity to an existing account with the person's proof (the "first broker login"
//! of Keycloak and Auth0). A sign-in whose identity may belong to an existing account, but that
//! the provider may not link on its own (see `account::complete_login`), stops at the link page
//! (`/link-account?code=`). There the person proves the account, with its password or with a
//! session of that account in the same browser, and confirms; only then is the identity linked
//! (or its proof renewed) and the browser signed in.
//!
//! The pending link is a flow record (purpose `link`): one use, 10 minutes, bound to the browser
//! that signed in at the provider (the `aerie_sso` cookie), with what the provider said sealed.

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_sessions::Session;

use super::flow::{Redirect, bound_to, flow_key};
use super::refusal::refuse;
use super::sign_in::{Link, Login, attach, commit_sign_in, renew_identity};
use crate::actor::{Actor, Credential, Identity};
use crate::db::entities::{sso_flows, sso_providers, users};
use crate::services::audit::Event;
use crate::services::auth::{self, sessions};
use crate::sso::oidc::ExternalProfile;
use crate::store;
use crate::{AppContext, Error, Result, crypto};
use aerie_contract::auth::Credentials;
use aerie_contract::ids::{OrgId, SsoProviderId, UserId};
use aerie_contract::sso::PendingLink;
use aerie_contract::{ErrorCode, UserStatus};

const PURPOSE: &str = "link";
const SEAL_LABEL: &str = "sso-link";
const TTL_MINUTES: i64 = 10;

/// What the provider said, kept sealed until the person proves the account.
#[derive(Serialize, Deserialize)]
struct Vouched {
    subject: String,
    email: Option<String>,
    email_verified: Option<bool>,
    name: Option<String>,
    groups: Vec<String>,
}

impl Vouched {
    fn of(p: &ExternalProfile) -> Self {
        Self {
            subject: p.subject.clone(),
            email: p.email.clone(),
            email_verified: p.email_verified,
            name: p.name.clone(),
            groups: p.groups.clone(),
        }
    }

    fn profile(self) -> ExternalProfile {
        ExternalProfile {
            subject: self.subject,
            email: self.email,
            email_verified: self.email_verified,
            name: self.name,
            groups: self.groups,
        }
    }
}

fn expired() -> Error {
    Error::detailed(
        ErrorCode::NotFound,
        "This link request has expired or was used already. Sign in again.",
    )
}

/// Refuses automatic linking (audited, `sso.refused` with reason `proof_required`, and noted on
/// the provider for its admins), keeps what the provider said, and answers the link page.
#[expect(
    clippy::too_many_arguments,
    reason = "the sign-in's state, named at its one call site"
)]
pub(crate) async fn request_proof(
    ctx: &AppContext,
    actor: &Actor,
    row: &sso_providers::Model,
    user: &users::Model,
    profile: &ExternalProfile,
    why: &str,
    return_to: &str,
    binding: Option<&str>,
) -> Result<Redirect> {
    let _audited = refuse(
        ctx,
        actor,
        Some(row),
        "proof_required",
        why,
        profile.email.as_deref(),
    )
    .await;
    // Every flow is bound to its browser (IdP-initiated SAML ones at the ACS), so the link is.
    let Some(binding) = binding else {
        return Err(expired());
    };
    let sealed = serde_json::to_string(&Vouched::of(profile))
        .map_err(|e| Error::Internal(e.into()))
        .and_then(|plain| {
            crypto::seal(&ctx.secrets().encryption_key, SEAL_LABEL, &plain).map_err(Error::Internal)
        })?;
    let code = crypto::random_token(43);
    let now = Utc::now();
    store::sso::insert_flow(
        ctx.db(),
        store::sso::NewFlow {
            id: &flow_key(ctx, PURPOSE, &code),
            purpose: PURPOSE,
            org: OrgId(row.org_id),
            provider: Some(SsoProviderId(row.id)),
            binding_hash: Some(binding),
            secret_enc: Some(sealed),
            nonce: None,
            return_to,
            user: Some(UserId(user.id)),
            expires_at: now + Duration::minutes(TTL_MINUTES),
        },
        now,
    )
    .await?;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("code", &code)
        .finish();
    Ok(Redirect {
        location: format!("/link-account?{query}"),
        binding: None,
        html: None,
    })
}

/// The pending link and its account, when the code is valid.
async fn find(
    ctx: &AppContext,
    code: &str,
) -> Result<(sso_flows::Model, sso_providers::Model, users::Model)> {
    let now = Utc::now();
    let flow = store::sso::find_flow_global(ctx.db(), &flow_key(ctx, PURPOSE, code), PURPOSE, now)
        .await?
        .ok_or_else(expired)?;
    let org = OrgId(flow.org_id);
    let row = match flow.provider_id {
        Some(id) => store::sso::find(ctx.db(), org, SsoProviderId(id)).await?,
        None => None,
    }
    .filter(|r| r.enabled)
    .ok_or_else(expired)?;
    let user = match flow.user_id {
        Some(id) => store::users::find_member(ctx.db(), org, UserId(id)).await?,
        None => None,
    }
    .map(|(u, _)| u)
    .filter(|u| u.status() == Ok(UserStatus::Active))
    .ok_or_else(expired)?;
    Ok((flow, row, user))
}

/// Whether the caller is signed in, in this browser, to exactly this account.
fn session_of(actor: &Actor, flow: &sso_flows::Model) -> bool {
    matches!(&actor.identity, Identity::User(p)
        if p.credential == Credential::Session
            && Some(p.user_id.0) == flow.user_id
            && p.org_id.0 == flow.org_id)
}

/// `GET /auth/sso/link?code=` (and the link page): what is waiting to be linked.
pub async fn pending(ctx: &AppContext, actor: &Actor, code: &str) -> Result<PendingLink> {
    let (flow, row, _) = find(ctx, code).await?;
    let vouched = open(ctx, &flow)?;
    Ok(PendingLink {
        kind: row.kind()?,
        provider_name: row.name,
        email: vouched.email.unwrap_or_default(),
        signed_in_as_account: session_of(actor, &flow),
        expires_at: store::utc(flow.expires_at),
    })
}

fn open(ctx: &AppContext, flow: &sso_flows::Model) -> Result<Vouched> {
    use secrecy::ExposeSecret;
    let sealed = flow.secret_enc.as_deref().ok_or_else(expired)?;
    let plain =
        crypto::open(&ctx.secrets().encryption_key, SEAL_LABEL, sealed).map_err(|_| expired())?;
    serde_json::from_str(plain.expose_secret()).map_err(|_| expired())
}

/// `POST /auth/sso/link`: the person proves the account (its password, or a session of it in
/// this browser) and confirms; the identity is linked with that proof, and this browser signs
/// in to the account under a fresh session. Answers where to go next.
pub async fn confirm(
    ctx: &AppContext,
    actor: &Actor,
    session: &Session,
    code: &str,
    password: Option<String>,
    binding: Option<&str>,
) -> Result<String> {
    let (flow, row, user) = find(ctx, code).await?;
    if !bound_to(ctx, flow.binding_hash.as_deref(), binding) {
        return Err(refuse(
            ctx,
            actor,
            Some(&row),
            "state_mismatch",
            "This link request was started in another browser. Sign in again from the login page.",
            None,
        )
        .await);
    }
    let proof = if session_of(actor, &flow) {
        "session"
    } else {
        let password = password.filter(|p| !p.is_empty()).ok_or_else(|| {
            Error::invalid(
                "password",
                "Enter the password of your Aerie account to link this identity to it.",
            )
        })?;
        let creds = Credentials {
            email: user.email.clone(),
            password,
        };
        let (proven, _) = auth::check_password(ctx, actor, creds, "sso_link").await?;
        if proven.id != user.id {
            return Err(Error::Code(ErrorCode::InvalidCredentials));
        }
        "password"
    };
    // One use: whoever consumes the record links.
    let flow =
        store::sso::take_flow_global(ctx.db(), &flow_key(ctx, PURPOSE, code), PURPOSE, Utc::now())
            .await?
            .ok_or_else(expired)?;
    let profile = open(ctx, &flow)?.profile();
    link_proven(ctx, actor, &row, &user, &profile, proof).await?;
    let org = OrgId(row.org_id);
    sessions::sign_in(session, UserId(user.id), org).await?;
    Ok(flow.return_to)
}

/// Links the identity (or renews the proof of the one linked already), audited with the proof.
async fn link_proven(
    ctx: &AppContext,
    actor: &Actor,
    row: &sso_providers::Model,
    user: &users::Model,
    profile: &ExternalProfile,
    proof: &str,
) -> Result<()> {
    let org = OrgId(row.org_id);
    let provider = SsoProviderId(row.id);
    let kind = row.kind()?;
    let now = Utc::now();
    let (_, membership) = store::users::find_member(ctx.db(), org, UserId(user.id))
        .await?
        .ok_or_else(expired)?;
    let existing = store::sso::find_identity(ctx.db(), org, provider, &profile.subject).await?;
    let txn = crate::db::begin_write(ctx.db()).await?;
    let details = json!({
        "provider": row.id, "kind": kind, "email": profile.email, "proof": proof,
    });
    let link = Link {
        row,
        membership: &membership,
        profile,
        proven_at: Some(now),
    };
    match existing {
        Some(identity) if identity.user_id == user.id => {
            let event = Event::new("sso.link_proven")
                .target("user", user.id)
                .details(details);
            let login = Login {
                method: kind,
                how: "proven_identity",
            };
            renew_identity(&txn, actor, &link, identity, Some(event), login, now).await?;
        }
        Some(_) => {
            return Err(refuse(
                ctx,
                actor,
                Some(row),
                "identity_taken",
                "This identity is linked to another account already.",
                profile.email.as_deref(),
            )
            .await);
        }
        None => {
            let event = Event::new("sso.linked")
                .target("user", user.id)
                .details(details);
            let login = Login {
                method: kind,
                how: "linked_with_proof",
            };
            attach(&txn, actor, &link, event, login, now).await?;
        }
    }
    commit_sign_in(ctx, txn, row, now).await
}
