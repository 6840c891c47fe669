//! The organisations' claims to email domains for single sign-on (`sso_domain_claims`), which
//! the instance operator approves or rejects. The domain is the key: one organisation per
//! domain.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};

use super::ts;
use crate::db::entities::sso_domain_claims;
use aerie_contract::ids::{OrgId, UserId};
use aerie_contract::{DomainClaimStatus, UnknownValue};

impl sso_domain_claims::Model {
    /// The operator's decision: the one reading of the stored `status` column.
    pub fn status(&self) -> Result<DomainClaimStatus, UnknownValue> {
        self.status.parse()
    }
}

/// The claims of `org`.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
) -> Result<Vec<sso_domain_claims::Model>, DbErr> {
    sso_domain_claims::Entity::find()
        .filter(sso_domain_claims::Column::OrgId.eq(org.0))
        .order_by_asc(sso_domain_claims::Column::Domain)
        .all(db)
        .await
}

/// Every claim, optionally of one status (the operator's list), oldest request first.
pub async fn list_global<C: ConnectionTrait>(
    db: &C,
    status: Option<DomainClaimStatus>,
) -> Result<Vec<sso_domain_claims::Model>, DbErr> {
    let mut q = sso_domain_claims::Entity::find();
    if let Some(status) = status {
        q = q.filter(sso_domain_claims::Column::Status.eq(status.as_str()));
    }
    q.order_by_asc(sso_domain_claims::Column::RequestedAt)
        .order_by_asc(sso_domain_claims::Column::Domain)
        .all(db)
        .await
}

/// The claim on `domain`, whoever holds it.
pub async fn find_global<C: ConnectionTrait>(
    db: &C,
    domain: &str,
) -> Result<Option<sso_domain_claims::Model>, DbErr> {
    sso_domain_claims::Entity::find_by_id(domain.to_owned())
        .one(db)
        .await
}

/// Records `org`'s claims on `domains` (new ones as `status`; a domain it already claims keeps
/// its decision) and drops its claims on any other domain. A domain another organisation holds
/// (pending or approved) is left to it: the caller checks for that first, and the key refuses a
/// race; one it was refused is taken over.
pub async fn sync<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    domains: &[String],
    status: DomainClaimStatus,
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    sso_domain_claims::Entity::delete_many()
        .filter(sso_domain_claims::Column::OrgId.eq(org.0))
        .filter(sso_domain_claims::Column::Domain.is_not_in(domains.iter().cloned()))
        .exec(db)
        .await?;
    // Another organisation's rejected claim does not hold the domain.
    sso_domain_claims::Entity::delete_many()
        .filter(sso_domain_claims::Column::OrgId.ne(org.0))
        .filter(sso_domain_claims::Column::Domain.is_in(domains.iter().cloned()))
        .filter(sso_domain_claims::Column::Status.eq(DomainClaimStatus::Rejected.as_str()))
        .exec(db)
        .await?;
    let decided = status != DomainClaimStatus::Pending;
    for domain in domains {
        let row = sso_domain_claims::ActiveModel {
            domain: Set(domain.clone()),
            org_id: Set(org.0),
            status: Set(status.as_str().to_owned()),
            requested_at: Set(ts(now)),
            decided_at: Set(decided.then(|| ts(now))),
            decided_by: Set(if decided { by.map(|u| u.0) } else { None }),
        };
        sso_domain_claims::Entity::insert(row)
            .on_conflict_do_nothing_on([sso_domain_claims::Column::Domain])
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The operator's decision on the claim on `domain`; says whether there was one.
pub async fn decide_global<C: ConnectionTrait>(
    db: &C,
    domain: &str,
    status: DomainClaimStatus,
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = sso_domain_claims::Entity::update_many()
        .col_expr(
            sso_domain_claims::Column::Status,
            Expr::value(status.as_str()),
        )
        .col_expr(sso_domain_claims::Column::DecidedAt, Expr::value(ts(now)))
        .col_expr(
            sso_domain_claims::Column::DecidedBy,
            Expr::value(by.map(|u| u.0)),
        )
        .filter(sso_domain_claims::Column::Domain.eq(domain))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
