//! `aerie org …`, `aerie operator …`, `aerie domains …`, `aerie license …`: the instance
//! operator's commands, from the server's shell (docs/TENANTS.md, docs/LICENSING.md). Whoever runs them on the server operates the instance.

use aerie_backend::config::Config;
use aerie_backend::services::billing::terms;
use aerie_backend::services::license;
use aerie_backend::services::operator::{self, Operator};
use aerie_contract::DomainClaimStatus;
use aerie_contract::license::LicenseStatus;
use aerie_contract::operator::{CreateTenant, TenantOrganization};

use super::billing::with_context;
use super::{DomainsCommand, LicenseCommand, OperatorCommand, OrgCommand};
use crate::startup::StartupError;

fn print_orgs(orgs: &[TenantOrganization]) {
    println!(
        "{:<24}  {:<32}  {:<12}  {:<10}  {:>7}  CREATED",
        "SLUG", "NAME", "PLAN", "STATUS", "MEMBERS"
    );
    for o in orgs {
        println!(
            "{:<24}  {:<32}  {:<12}  {:<10}  {:>7}  {}",
            o.slug,
            o.name,
            o.plan,
            o.status,
            o.members,
            o.created_at.format("%Y-%m-%d")
        );
    }
}

pub async fn org(config: Config, cmd: OrgCommand) -> Result<(), StartupError> {
    with_context(config, |ctx| async move {
        let ctx = &ctx;
        let op = Operator::cli();
        match cmd {
            OrgCommand::List => print_orgs(&operator::organizations(ctx, &op).await?),
            OrgCommand::Create { name, owner, plan } => {
                let created = operator::create(
                    ctx,
                    &op,
                    CreateTenant {
                        name,
                        owner_email: owner,
                        plan,
                    },
                )
                .await?;
                print_orgs(std::slice::from_ref(&created.organization));
                println!(
                    "Owner's invitation (shown once): {}",
                    created.owner_invite_url
                );
            }
            OrgCommand::Suspend { org } => {
                let id = operator::find_by_slug(ctx, &op, &org).await?;
                let o = operator::suspend(ctx, &op, id).await?;
                println!("{} ({}) is suspended.", o.name, o.slug);
            }
            OrgCommand::Resume { org } => {
                let id = operator::find_by_slug(ctx, &op, &org).await?;
                let o = operator::resume(ctx, &op, id).await?;
                println!("{} ({}) is active again.", o.name, o.slug);
            }
            OrgCommand::Delete { org, confirm } => {
                if confirm != org {
                    return Err(aerie_backend::Error::invalid(
                        "confirm",
                        "--confirm must repeat the organisation's slug.",
                    ));
                }
                let id = operator::find_by_slug(ctx, &op, &org).await?;
                operator::delete(ctx, &op, id).await?;
                println!("{org} is deleted.");
            }
            OrgCommand::Plan { org, plan } => {
                let (name, plan) = terms::subscribe(ctx, &op, &org, &plan).await?;
                println!("{name} ({org}) is on the {} plan.", plan.name);
            }
        }
        Ok(())
    })
    .await
}

pub async fn operator(config: Config, cmd: OperatorCommand) -> Result<(), StartupError> {
    with_context(config, |ctx| async move {
        let op = Operator::cli();
        match cmd {
            OperatorCommand::Grant { email } => {
                operator::set_operator(&ctx, &op, &email, true).await?;
                println!("{email} is an instance operator.");
            }
            OperatorCommand::Revoke { email } => {
                operator::set_operator(&ctx, &op, &email, false).await?;
                println!("{email} is no longer an instance operator.");
            }
        }
        Ok(())
    })
    .await
}

pub async fn domains(config: Config, cmd: DomainsCommand) -> Result<(), StartupError> {
    with_context(config, |ctx| async move {
        let ctx = &ctx;
        let op = Operator::cli();
        let decided = |d: aerie_contract::operator::DomainClaim| {
            println!(
                "{}: {} for {} ({}).",
                d.domain, d.status, d.org_name, d.org_slug
            );
        };
        match cmd {
            DomainsCommand::List { pending } => {
                let status = pending.then_some(DomainClaimStatus::Pending);
                println!(
                    "{:<40}  {:<24}  {:<9}  REQUESTED",
                    "DOMAIN", "ORGANISATION", "STATUS"
                );
                for c in operator::domain_claims(ctx, &op, status).await? {
                    println!(
                        "{:<40}  {:<24}  {:<9}  {}",
                        c.domain,
                        c.org_slug,
                        c.status,
                        c.requested_at.format("%Y-%m-%d %H:%M")
                    );
                }
            }
            DomainsCommand::Approve { domain } => decided(
                operator::decide_domain(ctx, &op, &domain, DomainClaimStatus::Approved).await?,
            ),
            DomainsCommand::Reject { domain } => decided(
                operator::decide_domain(ctx, &op, &domain, DomainClaimStatus::Rejected).await?,
            ),
        }
        Ok(())
    })
    .await
}

fn print_license(s: &LicenseStatus) {
    let features: Vec<&str> = s.features.iter().map(|f| f.as_str()).collect();
    let limit = |v: Option<i64>| v.map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
    println!("tier: {}", s.tier);
    println!("state: {:?}", s.state);
    if let Some(who) = &s.licensee {
        println!("licensee: {who}");
    }
    if let Some(at) = s.expires_at {
        println!("expires: {}", at.format("%Y-%m-%d %H:%M UTC"));
    }
    if let Some(reason) = &s.reason {
        println!("reason: {reason}");
    }
    println!(
        "features: {}",
        if features.is_empty() {
            "(the Community platform)".to_owned()
        } else {
            features.join(", ")
        }
    );
    println!(
        "limits: {} people, {} organisations",
        limit(s.limits.users),
        limit(s.limits.organizations)
    );
}

pub async fn license(config: Config, cmd: LicenseCommand) -> Result<(), StartupError> {
    with_context(config, |ctx| async move {
        let op = Operator::cli();
        let status = match cmd {
            LicenseCommand::Status => license::current(&ctx).await?,
            LicenseCommand::Apply { license: given } => {
                // A path to a file holding the key, or the key itself.
                let key = match std::fs::read_to_string(&given) {
                    Ok(text) => text,
                    Err(_) => given,
                };
                license::apply(&ctx, &op, &key).await?
            }
            LicenseCommand::Remove => license::remove(&ctx, &op).await?,
        };
        print_license(&status);
        Ok(())
    })
    .await
}
