//! Plans, model prices and credit periods (docs/BILLING.md). The reservation and its settlement
//! are single conditional UPDATEs, so concurrent calls — of one process or of several sharing
//! the database — can never hold more than the period grants.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set,
};

use super::ts;
use crate::db::entities::{credit_periods, model_prices, plans, rate_windows, user_token_periods};
use aerie_contract::ids::{OrgId, UserId};

/// Every plan, in the operator's order.
pub async fn plans_global<C: ConnectionTrait>(db: &C) -> Result<Vec<plans::Model>, DbErr> {
    plans::Entity::find()
        .order_by_asc(plans::Column::Position)
        .order_by_asc(plans::Column::Slug)
        .all(db)
        .await
}

pub async fn plan_global<C: ConnectionTrait>(
    db: &C,
    slug: &str,
) -> Result<Option<plans::Model>, DbErr> {
    plans::Entity::find_by_id(slug.to_owned()).one(db).await
}

/// Every model price (the row `*` prices the models without one).
pub async fn prices_global<C: ConnectionTrait>(db: &C) -> Result<Vec<model_prices::Model>, DbErr> {
    model_prices::Entity::find().all(db).await
}

/// One billing period of `org`, as the grants of its terms say now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeriodKey {
    pub org: OrgId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Credits of the period (`None`: unlimited).
    pub credits_granted: Option<i64>,
    /// Tokens of the period (`None`: no token cap).
    pub tokens_granted: Option<i64>,
}

/// `org`'s row for the period starting at `start`.
pub async fn period<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    start: DateTime<Utc>,
) -> Result<Option<credit_periods::Model>, DbErr> {
    credit_periods::Entity::find_by_id((org.0, ts(start)))
        .one(db)
        .await
}

/// Creates the period's row unless it exists (the first call of a period does this).
pub async fn open_period<C: ConnectionTrait>(
    db: &C,
    key: &PeriodKey,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    credit_periods::Entity::insert(credit_periods::ActiveModel {
        org_id: Set(key.org.0),
        period_start: Set(ts(key.start)),
        period_end: Set(ts(key.end)),
        credits_granted: Set(key.credits_granted),
        credits_used: Set(0),
        credits_reserved: Set(0),
        tokens_granted: Set(key.tokens_granted),
        tokens_used: Set(0),
        tokens_reserved: Set(0),
        updated_at: Set(ts(now)),
    })
    .on_conflict(
        OnConflict::columns([
            credit_periods::Column::OrgId,
            credit_periods::Column::PeriodStart,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Holds `credits` and `tokens` in the period when what is left covers them, in one statement
/// (it also records the grants the terms give now). False: refused, or the period has no row
/// yet.
pub async fn reserve<C: ConnectionTrait>(
    db: &C,
    key: &PeriodKey,
    credits: i64,
    tokens: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    use credit_periods::Column as C;
    let mut fits = Condition::all()
        .add(C::OrgId.eq(key.org.0))
        .add(C::PeriodStart.eq(ts(key.start)));
    if let Some(granted) = key.credits_granted {
        fits = fits.add(
            Expr::col(C::CreditsUsed)
                .add(Expr::col(C::CreditsReserved))
                .lte(granted.saturating_sub(credits)),
        );
    }
    if let Some(granted) = key.tokens_granted {
        fits = fits.add(
            Expr::col(C::TokensUsed)
                .add(Expr::col(C::TokensReserved))
                .lte(granted.saturating_sub(tokens)),
        );
    }
    let result = credit_periods::Entity::update_many()
        .col_expr(
            C::CreditsReserved,
            Expr::col(C::CreditsReserved).add(credits),
        )
        .col_expr(C::TokensReserved, Expr::col(C::TokensReserved).add(tokens))
        .col_expr(C::CreditsGranted, Expr::value(key.credits_granted))
        .col_expr(C::TokensGranted, Expr::value(key.tokens_granted))
        .col_expr(C::UpdatedAt, Expr::value(ts(now)))
        .filter(fits)
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// What a finished (or abandoned) call gives back and charges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settlement {
    pub reserved_credits: i64,
    pub reserved_tokens: i64,
    pub charged_credits: i64,
    pub charged_tokens: i64,
}

/// Releases a reservation and charges what the call used, in one statement.
pub async fn settle<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    start: DateTime<Utc>,
    s: Settlement,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use credit_periods::Column as C;
    credit_periods::Entity::update_many()
        .col_expr(
            C::CreditsReserved,
            Expr::col(C::CreditsReserved).sub(s.reserved_credits),
        )
        .col_expr(
            C::TokensReserved,
            Expr::col(C::TokensReserved).sub(s.reserved_tokens),
        )
        .col_expr(
            C::CreditsUsed,
            Expr::col(C::CreditsUsed).add(s.charged_credits),
        )
        .col_expr(
            C::TokensUsed,
            Expr::col(C::TokensUsed).add(s.charged_tokens),
        )
        .col_expr(C::UpdatedAt, Expr::value(ts(now)))
        .filter(C::OrgId.eq(org.0))
        .filter(C::PeriodStart.eq(ts(start)))
        .exec(db)
        .await?;
    Ok(())
}

/// One person's tokens in one billing period of their organisation, when the plan limits
/// tokens per person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserPeriodKey {
    pub org: OrgId,
    pub user: UserId,
    pub start: DateTime<Utc>,
    /// Tokens the person may use in the period.
    pub granted: i64,
}

/// `user`'s row of the period of `org` starting at `start`.
pub async fn user_period<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    user: UserId,
    start: DateTime<Utc>,
) -> Result<Option<user_token_periods::Model>, DbErr> {
    user_token_periods::Entity::find_by_id((org.0, user.0, ts(start)))
        .one(db)
        .await
}

/// Creates the person's row of the period unless it exists.
pub async fn open_user_period<C: ConnectionTrait>(
    db: &C,
    key: &UserPeriodKey,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use user_token_periods::Column as U;
    user_token_periods::Entity::insert(user_token_periods::ActiveModel {
        org_id: Set(key.org.0),
        user_id: Set(key.user.0),
        period_start: Set(ts(key.start)),
        tokens_granted: Set(Some(key.granted)),
        tokens_used: Set(0),
        tokens_reserved: Set(0),
        updated_at: Set(ts(now)),
    })
    .on_conflict(
        OnConflict::columns([U::OrgId, U::UserId, U::PeriodStart])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Holds `tokens` of the person's period when what is left covers them, in one statement.
/// False: refused, or the row does not exist yet.
pub async fn reserve_user<C: ConnectionTrait>(
    db: &C,
    key: &UserPeriodKey,
    tokens: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    use user_token_periods::Column as U;
    let result = user_token_periods::Entity::update_many()
        .col_expr(U::TokensReserved, Expr::col(U::TokensReserved).add(tokens))
        .col_expr(U::TokensGranted, Expr::value(Some(key.granted)))
        .col_expr(U::UpdatedAt, Expr::value(ts(now)))
        .filter(U::OrgId.eq(key.org.0))
        .filter(U::UserId.eq(key.user.0))
        .filter(U::PeriodStart.eq(ts(key.start)))
        .filter(
            Expr::col(U::TokensUsed)
                .add(Expr::col(U::TokensReserved))
                .lte(key.granted.saturating_sub(tokens)),
        )
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Releases `reserved` tokens of the person's period and charges `charged`, in one statement.
pub async fn settle_user<C: ConnectionTrait>(
    db: &C,
    key: &UserPeriodKey,
    reserved: i64,
    charged: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use user_token_periods::Column as U;
    user_token_periods::Entity::update_many()
        .col_expr(
            U::TokensReserved,
            Expr::col(U::TokensReserved).sub(reserved),
        )
        .col_expr(U::TokensUsed, Expr::col(U::TokensUsed).add(charged))
        .col_expr(U::UpdatedAt, Expr::value(ts(now)))
        .filter(U::OrgId.eq(key.org.0))
        .filter(U::UserId.eq(key.user.0))
        .filter(U::PeriodStart.eq(ts(key.start)))
        .exec(db)
        .await?;
    Ok(())
}

/// Inserts or replaces a plan (every column but `created_at` of an existing one).
pub async fn save_plan<C: ConnectionTrait>(
    db: &C,
    plan: plans::Model,
) -> Result<plans::Model, DbErr> {
    use plans::Column as P;
    let slug = plan.slug.clone();
    plans::Entity::insert(plans::ActiveModel {
        slug: Set(plan.slug),
        name: Set(plan.name),
        price_label: Set(plan.price_label),
        monthly_credits: Set(plan.monthly_credits),
        monthly_tokens_per_user: Set(plan.monthly_tokens_per_user),
        requests_per_minute: Set(plan.requests_per_minute),
        tokens_per_minute: Set(plan.tokens_per_minute),
        features: Set(plan.features),
        position: Set(plan.position),
        created_at: Set(plan.created_at),
        updated_at: Set(plan.updated_at),
    })
    .on_conflict(
        OnConflict::column(P::Slug)
            .update_columns([
                P::Name,
                P::PriceLabel,
                P::MonthlyCredits,
                P::MonthlyTokensPerUser,
                P::RequestsPerMinute,
                P::TokensPerMinute,
                P::Features,
                P::Position,
                P::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    plan_global(db, &slug)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("plan".to_owned()))
}

/// Sets the price of `model` (`*`: of every model without one).
pub async fn save_price<C: ConnectionTrait>(
    db: &C,
    model: &str,
    input_per_mtok: i64,
    output_per_mtok: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use model_prices::Column as M;
    model_prices::Entity::insert(model_prices::ActiveModel {
        model: Set(model.to_owned()),
        input_per_mtok: Set(input_per_mtok),
        output_per_mtok: Set(output_per_mtok),
        updated_at: Set(ts(now)),
    })
    .on_conflict(
        OnConflict::column(M::Model)
            .update_columns([M::InputPerMtok, M::OutputPerMtok, M::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Counts `requests` requests of `subject` in the window starting at `window` and answers the
/// window's `(requests, tokens)` after them, in one statement.
pub async fn hit_window<C: ConnectionTrait>(
    db: &C,
    subject: &str,
    window: DateTime<Utc>,
    requests: i64,
) -> Result<(i64, i64), DbErr> {
    bump_window(db, subject, window, requests, 0).await
}

/// Adds `tokens` to `subject`'s window starting at `window`; answers the window's tokens
/// after them.
pub async fn add_window_tokens<C: ConnectionTrait>(
    db: &C,
    subject: &str,
    window: DateTime<Utc>,
    tokens: i64,
) -> Result<i64, DbErr> {
    bump_window(db, subject, window, 0, tokens)
        .await
        .map(|(_, t)| t)
}

async fn bump_window<C: ConnectionTrait>(
    db: &C,
    subject: &str,
    window: DateTime<Utc>,
    requests: i64,
    tokens: i64,
) -> Result<(i64, i64), DbErr> {
    use rate_windows::Column as R;
    let row = rate_windows::Entity::insert(rate_windows::ActiveModel {
        subject: Set(subject.to_owned()),
        window_start: Set(ts(window)),
        requests: Set(requests),
        tokens: Set(tokens),
    })
    .on_conflict(
        OnConflict::columns([R::Subject, R::WindowStart])
            .value(
                R::Requests,
                Expr::col((rate_windows::Entity, R::Requests)).add(requests),
            )
            .value(
                R::Tokens,
                Expr::col((rate_windows::Entity, R::Tokens)).add(tokens),
            )
            .to_owned(),
    )
    .exec_with_returning(db)
    .await?;
    Ok((row.requests, row.tokens))
}

/// Deletes the windows that started before `before`.
pub async fn purge_windows_global<C: ConnectionTrait>(
    db: &C,
    before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    Ok(rate_windows::Entity::delete_many()
        .filter(rate_windows::Column::WindowStart.lt(ts(before)))
        .exec(db)
        .await?
        .rows_affected)
}
