use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::ts;
use crate::db::entities::organizations;
use aerie_contract::ids::OrgId;
use aerie_contract::{SignupMode, UnknownValue};

impl organizations::Model {
    /// Who may join: the one reading of the stored `signup_mode` column (an unknown value is an
    /// error, never a guess).
    pub fn signup_mode(&self) -> Result<SignupMode, UnknownValue> {
        self.signup_mode.parse()
    }
}

/// The names of the organisations `ids` (of any organisation: the marketplaces show who
/// publishes), by id; an unknown id is left out.
pub async fn names_global<C: ConnectionTrait>(
    db: &C,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, String>, DbErr> {
    let ids: HashSet<Uuid> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(organizations::Entity::find()
        .select_only()
        .column(organizations::Column::Id)
        .column(organizations::Column::Name)
        .filter(organizations::Column::Id.is_in(ids))
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// How many organisations exist (0 means the instance is not set up).
pub async fn count_global<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    organizations::Entity::find().count(db).await
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
) -> Result<Option<organizations::Model>, DbErr> {
    organizations::Entity::find_by_id(org.0).one(db).await
}

/// The oldest organisation (the one `aerie dev` and single-organisation installs act in).
pub async fn first_global<C: ConnectionTrait>(
    db: &C,
) -> Result<Option<organizations::Model>, DbErr> {
    organizations::Entity::find()
        .order_by_asc(organizations::Column::CreatedAt)
        .one(db)
        .await
}

/// Locks `org`'s row until the transaction ends (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's
/// write transactions hold the database lock already). Writers that must see each other's
/// changes to the organisation's members — the last-owner rule — take it first.
pub async fn lock<C: ConnectionTrait>(db: &C, org: OrgId) -> Result<bool, DbErr> {
    use sea_orm::QuerySelect;
    Ok(organizations::Entity::find_by_id(org.0)
        .lock_exclusive()
        .one(db)
        .await?
        .is_some())
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    slug: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<organizations::Model, DbErr> {
    organizations::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(slug.to_owned()),
        name: Set(name.to_owned()),
        allowed_domains: Set(serde_json::json!([])),
        plan: Set("community".to_owned()),
        signup_mode: Set(SignupMode::InviteOnly.as_str().to_owned()),
        settings: Set(serde_json::json!({})),
        created_at: Set(ts(now)),
        updated_at: Set(ts(now)),
        period_anchor: Set(None),
        suspended_at: Set(None),
    }
    .insert(db)
    .await
}

/// An organisation by slug, in any organisation's view (public lookups, signup).
pub async fn find_by_slug_global<C: ConnectionTrait>(
    db: &C,
    slug: &str,
) -> Result<Option<organizations::Model>, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    organizations::Entity::find()
        .filter(organizations::Column::Slug.eq(slug))
        .one(db)
        .await
}

/// Every organisation (the public list for embedded chat shows name and slug only).
pub async fn list_global<C: ConnectionTrait>(db: &C) -> Result<Vec<organizations::Model>, DbErr> {
    organizations::Entity::find()
        .order_by_asc(organizations::Column::CreatedAt)
        .all(db)
        .await
}

/// Suspends `org` (`Some(at)`) or resumes it (`None`); says whether that changed anything (an
/// unknown organisation, or one already in that state, is left as it is).
pub async fn set_suspended<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    use sea_orm::sea_query::Expr;
    let in_other_state = match at {
        Some(_) => organizations::Column::SuspendedAt.is_null(),
        None => organizations::Column::SuspendedAt.is_not_null(),
    };
    let result = organizations::Entity::update_many()
        .col_expr(organizations::Column::SuspendedAt, Expr::value(at.map(ts)))
        .col_expr(organizations::Column::UpdatedAt, Expr::value(ts(now)))
        .filter(organizations::Column::Id.eq(org.0))
        .filter(in_other_state)
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Deletes `org` and everything it holds in the database; says whether it existed. Foreign keys
/// cascade to most of it; the rows that name the organisation without one (refresh tokens,
/// linked identities, jobs, its audit trail) and the accounts of people who belonged to it
/// alone are deleted here.
pub async fn delete<C: ConnectionTrait>(db: &C, org: OrgId) -> Result<bool, DbErr> {
    use crate::db::entities::{
        audit_events, audit_heads, identities, jobs, memberships, refresh_tokens, users,
    };
    use sea_orm::sea_query::Query;
    let elsewhere = Query::select()
        .column(memberships::Column::UserId)
        .from(memberships::Entity)
        .and_where(memberships::Column::OrgId.ne(org.0))
        .to_owned();
    let alone: Vec<Uuid> = memberships::Entity::find()
        .select_only()
        .column(memberships::Column::UserId)
        .filter(memberships::Column::OrgId.eq(org.0))
        .filter(memberships::Column::UserId.not_in_subquery(elsewhere))
        .into_tuple()
        .all(db)
        .await?;
    refresh_tokens::Entity::delete_many()
        .filter(refresh_tokens::Column::OrgId.eq(org.0))
        .exec(db)
        .await?;
    identities::Entity::delete_many()
        .filter(identities::Column::OrgId.eq(org.0))
        .exec(db)
        .await?;
    jobs::Entity::delete_many()
        .filter(jobs::Column::OrgId.eq(org.0))
        .exec(db)
        .await?;
    audit_events::Entity::delete_many()
        .filter(audit_events::Column::OrgId.eq(org.0))
        .exec(db)
        .await?;
    // Its chain goes with it (docs/AUDIT.md).
    audit_heads::Entity::delete_many()
        .filter(audit_heads::Column::ChainOrg.eq(org.0))
        .exec(db)
        .await?;
    let result = organizations::Entity::delete_many()
        .filter(organizations::Column::Id.eq(org.0))
        .exec(db)
        .await?;
    if !alone.is_empty() {
        users::Entity::delete_many()
            .filter(users::Column::Id.is_in(alone))
            .exec(db)
            .await?;
    }
    Ok(result.rows_affected == 1)
}

/// How many people belong to each organisation, by id.
pub async fn member_counts_global<C: ConnectionTrait>(db: &C) -> Result<HashMap<Uuid, u64>, DbErr> {
    use crate::db::entities::memberships;
    use sea_orm::sea_query::{Expr, ExprTrait};
    Ok(memberships::Entity::find()
        .select_only()
        .column(memberships::Column::OrgId)
        .column_as(Expr::col(memberships::Column::Id).count(), "n")
        .group_by(memberships::Column::OrgId)
        .into_tuple::<(Uuid, i64)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// Moves `org` to the plan `plan` (a slug of `plans`).
pub async fn set_plan<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    plan: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    use sea_orm::sea_query::Expr;
    let result = organizations::Entity::update_many()
        .col_expr(organizations::Column::Plan, Expr::value(plan))
        .col_expr(organizations::Column::UpdatedAt, Expr::value(ts(now)))
        .filter(organizations::Column::Id.eq(org.0))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Saves changes to `org` (the model must be that organisation).
async fn update<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    model: organizations::ActiveModel,
) -> Result<organizations::Model, DbErr> {
    match &model.id {
        sea_orm::ActiveValue::Set(id) | sea_orm::ActiveValue::Unchanged(id) if *id == org.0 => {
            model.update(db).await
        }
        _ => Err(DbErr::RecordNotFound("organization".to_owned())),
    }
}

/// The fields [`apply_changes`] sets (`None`: unchanged); `updated_at` is always set.
#[derive(Default)]
pub struct OrgChanges {
    pub name: Option<String>,
    pub allowed_domains: Option<serde_json::Value>,
    pub signup_mode: Option<SignupMode>,
    pub settings: Option<serde_json::Value>,
}

/// Saves `changes` to the organisation `org` (`row` must be it).
pub async fn apply_changes<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: organizations::Model,
    changes: OrgChanges,
    now: DateTime<Utc>,
) -> Result<organizations::Model, DbErr> {
    let mut model: organizations::ActiveModel = row.into();
    if let Some(name) = changes.name {
        model.name = Set(name);
    }
    if let Some(allowed) = changes.allowed_domains {
        model.allowed_domains = Set(allowed);
    }
    if let Some(mode) = changes.signup_mode {
        model.signup_mode = Set(mode.as_str().to_owned());
    }
    if let Some(settings) = changes.settings {
        model.settings = Set(settings);
    }
    model.updated_at = Set(ts(now));
    update(db, org, model).await
}

/// Saves an organisation's settings (`row` must be that organisation's), stamping the change.
pub async fn update_settings<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: organizations::Model,
    settings: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<organizations::Model, DbErr> {
    let changes = OrgChanges {
        settings: Some(settings),
        ..OrgChanges::default()
    };
    apply_changes(db, org, row, changes, now).await
}
