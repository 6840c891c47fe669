//! An organisation's guardrail policy (docs/GUARDRAILS.md): which detectors are on and what each
//! does, its own patterns, and whether answers are scanned. Without a saved policy the default
//! one applies. A compiled policy is cached per organisation for [`CACHE_TTL`] (a change made
//! on this instance applies at once, on others within that time).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aerie_contract::guardrails::{GuardrailPattern, GuardrailPolicy, GuardrailRule};
use aerie_contract::ids::{OrgId, RouteId};
use aerie_contract::{GuardrailAction, GuardrailDetector, Role};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::detect::{Finding, Scanner};
use crate::actor::Actor;
use crate::services::audit::{self, Event};
use crate::services::validate;
use crate::{AppContext, Error, Result, store};

/// At most this many patterns of an organisation's own.
pub const PATTERNS_MAX: usize = 20;
/// A pattern's name: at most this many characters.
pub const PATTERN_NAME_MAX: usize = 64;
/// A pattern: at most this many characters.
pub const PATTERN_MAX: usize = 512;
/// How long a compiled policy is used before it is read again.
pub const CACHE_TTL: Duration = Duration::from_secs(5);

/// The policy of an organisation that saved none: payment cards, IBANs and secrets are
/// redacted before they reach a provider; email addresses and phone numbers are recorded and
/// pass; long random-looking strings are recorded.
pub fn default_policy() -> GuardrailPolicy {
    use GuardrailAction::{Allow, Redact};
    use GuardrailDetector::{Email, HighEntropy, Iban, PaymentCard, Phone, Secret};
    let rule = |detector, action| GuardrailRule { detector, action };
    GuardrailPolicy {
        rules: vec![
            rule(Email, Allow),
            rule(Phone, Allow),
            rule(PaymentCard, Redact),
            rule(Iban, Redact),
            rule(Secret, Redact),
            rule(HighEntropy, Allow),
        ],
        patterns: Vec::new(),
        scan_output: false,
    }
}

/// A policy ready to scan with.
pub struct Compiled {
    scanner: Scanner,
    actions: HashMap<GuardrailDetector, GuardrailAction>,
    patterns: HashMap<String, GuardrailAction>,
    pub scan_output: bool,
}

impl Compiled {
    /// Checks `policy` and compiles it; a refusal names the field.
    pub fn build(policy: &GuardrailPolicy) -> Result<Compiled> {
        let mut actions = HashMap::new();
        for rule in &policy.rules {
            if rule.detector == GuardrailDetector::Custom {
                return Err(Error::invalid(
                    "rules",
                    "rules list built-in detectors; an organisation's own patterns go in patterns.",
                ));
            }
            if actions.insert(rule.detector, rule.action).is_some() {
                return Err(Error::invalid(
                    "rules",
                    format!("rules lists the detector {} twice.", rule.detector),
                ));
            }
        }
        if policy.patterns.len() > PATTERNS_MAX {
            return Err(Error::invalid(
                "patterns",
                format!("patterns must be at most {PATTERNS_MAX}."),
            ));
        }
        let mut patterns = HashMap::new();
        let mut custom = Vec::with_capacity(policy.patterns.len());
        for p in &policy.patterns {
            let name = validate::name("patterns.name", &p.name, PATTERN_NAME_MAX)?;
            if p.pattern.is_empty() || p.pattern.chars().count() > PATTERN_MAX {
                return Err(Error::invalid(
                    "patterns.pattern",
                    format!("The pattern {name} must be 1 to {PATTERN_MAX} characters."),
                ));
            }
            if patterns.insert(name.clone(), p.action).is_some() {
                return Err(Error::invalid(
                    "patterns.name",
                    format!("Two patterns are named {name}."),
                ));
            }
            custom.push((name, p.pattern.clone()));
        }
        let builtin: Vec<GuardrailDetector> = policy.rules.iter().map(|r| r.detector).collect();
        let scanner =
            Scanner::new(&builtin, &custom).map_err(|e| Error::invalid("patterns.pattern", e))?;
        Ok(Compiled {
            scanner,
            actions,
            patterns,
            scan_output: policy.scan_output,
        })
    }

    /// The findings in `text`.
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        self.scanner.scan(text)
    }

    /// What the policy does with `finding`.
    pub fn action(&self, finding: &Finding) -> GuardrailAction {
        let action = match (&finding.pattern, finding.detector) {
            (Some(name), GuardrailDetector::Custom) => self.patterns.get(name),
            _ => self.actions.get(&finding.detector),
        };
        action.copied().unwrap_or(GuardrailAction::Allow)
    }
}

/// A route's compiled policy and the `updated_at` of the route it was compiled from.
type Versioned = (DateTime<Utc>, Arc<Compiled>);

/// The guardrails' runtime: compiled policies by organisation.
#[derive(Default)]
pub struct Guardrails {
    cache: Mutex<HashMap<OrgId, (Instant, Arc<Compiled>)>>,
    /// Routes' own policies, by route and the version (`updated_at`) they were compiled from.
    routes: Mutex<HashMap<RouteId, Versioned>>,
    /// Turns waiting for their caller's decision (`ask`).
    pub(crate) pending: super::ask::Pending,
}

impl Guardrails {
    fn cached(&self, org: OrgId) -> Option<Arc<Compiled>> {
        let cache = self.cache.lock().ok()?;
        let (at, compiled) = cache.get(&org)?;
        (at.elapsed() < CACHE_TTL).then(|| compiled.clone())
    }

    fn remember(&self, org: OrgId, compiled: Arc<Compiled>) {
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 10_000 {
                cache.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
            }
            cache.insert(org, (Instant::now(), compiled));
        }
    }
}

/// What the `rules` column holds.
#[derive(Serialize, Deserialize)]
struct Stored {
    rules: Vec<GuardrailRule>,
    #[serde(default)]
    patterns: Vec<GuardrailPattern>,
}

fn default_compiled() -> Result<Arc<Compiled>> {
    static DEFAULT: OnceLock<std::result::Result<Arc<Compiled>, String>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            Compiled::build(&default_policy())
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| Error::Internal(anyhow::anyhow!("the default guardrail policy: {e}")))
}

/// `org`'s saved policy, if it saved one.
async fn saved(ctx: &AppContext, org: OrgId) -> Result<Option<GuardrailPolicy>> {
    let Some(row) = store::guardrails::policy(ctx.db(), org).await? else {
        return Ok(None);
    };
    let stored: Stored = serde_json::from_value(row.rules)
        .map_err(|e| anyhow::anyhow!("a stored guardrail policy does not read: {e}"))?;
    Ok(Some(GuardrailPolicy {
        rules: stored.rules,
        patterns: stored.patterns,
        scan_output: row.scan_output,
    }))
}

/// `org`'s policy, compiled (cached for [`CACHE_TTL`]).
pub async fn compiled(ctx: &AppContext, org: OrgId) -> Result<Arc<Compiled>> {
    if let Some(compiled) = ctx.guardrails().cached(org) {
        return Ok(compiled);
    }
    let compiled = match saved(ctx, org).await? {
        None => default_compiled()?,
        Some(policy) => Arc::new(Compiled::build(&policy)?),
    };
    ctx.guardrails().remember(org, compiled.clone());
    Ok(compiled)
}

/// A route's own policy, compiled (cached while the route is unchanged: `version` is its
/// `updated_at`).
pub fn compiled_route(
    ctx: &AppContext,
    route: RouteId,
    version: DateTime<Utc>,
    policy: &GuardrailPolicy,
) -> Result<Arc<Compiled>> {
    let runtime = ctx.guardrails();
    if let Ok(cache) = runtime.routes.lock()
        && let Some((at, compiled)) = cache.get(&route)
        && *at == version
    {
        return Ok(compiled.clone());
    }
    let compiled = Arc::new(Compiled::build(policy)?);
    if let Ok(mut cache) = runtime.routes.lock() {
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(route, (version, compiled.clone()));
    }
    Ok(compiled)
}

/// The organisation's policy (its admins).
pub async fn get(ctx: &AppContext, actor: &Actor) -> Result<GuardrailPolicy> {
    let p = actor.require_role(Role::Admin)?;
    Ok(saved(ctx, p.org_id).await?.unwrap_or_else(default_policy))
}

/// Replaces the organisation's policy (its admins); audited.
pub async fn save(
    ctx: &AppContext,
    actor: &Actor,
    mut policy: GuardrailPolicy,
) -> Result<GuardrailPolicy> {
    let p = actor.require_role(Role::Admin)?;
    let compiled = Compiled::build(&policy)?;
    for pattern in &mut policy.patterns {
        pattern.name = pattern.name.trim().to_owned();
    }
    let stored = serde_json::to_value(Stored {
        rules: policy.rules.clone(),
        patterns: policy.patterns.clone(),
    })
    .map_err(|e| anyhow::anyhow!(e))?;
    store::guardrails::save_policy(ctx.db(), p.org_id, stored, policy.scan_output, Utc::now())
        .await?;
    ctx.guardrails().remember(p.org_id, Arc::new(compiled));
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("guardrails.policy_saved")
            .details(serde_json::to_value(&policy).unwrap_or_default()),
    )
    .await?;
    Ok(policy)
}
