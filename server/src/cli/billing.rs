//! `aerie plans …`, `aerie prices …`: the operator's plan and price editors, from the server's shell (docs/BILLING.md).

use aerie_backend::AppContext;
use aerie_backend::config::Config;
use aerie_backend::services::billing::{self, Price, terms};
use aerie_backend::services::operator::Operator;
use aerie_contract::billing::Plan;

use super::{Limit, PlansCommand, PricesCommand};
use crate::startup::{StartupError, build_state};

fn limit<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "unlimited".to_owned(), |n| n.to_string())
}

fn print_plans(plans: &[Plan]) {
    println!(
        "{:<16}  {:<16}  {:<24}  {:>12}  {:>12}  {:>10}  {:>12}  FEATURES",
        "SLUG", "NAME", "PRICE", "CREDITS", "TOKENS/USER", "REQ/MIN", "TOKENS/MIN"
    );
    for p in plans {
        println!(
            "{:<16}  {:<16}  {:<24}  {:>12}  {:>12}  {:>10}  {:>12}  {}",
            p.slug,
            p.name,
            p.price_label,
            limit(p.monthly_credits),
            limit(p.monthly_tokens_per_user),
            limit(p.requests_per_minute),
            limit(p.tokens_per_minute),
            p.features.join(",")
        );
    }
}

fn narrow(l: Option<Limit>) -> Result<Option<Option<i32>>, aerie_backend::Error> {
    l.map(|l| {
        l.0.map(|n| {
            i32::try_from(n).map_err(|_| {
                aerie_backend::Error::invalid("requests_per_minute", "Too large a limit.")
            })
        })
        .transpose()
    })
    .transpose()
}

/// Runs `f` on the service context, then closes the database.
pub(super) async fn with_context<F, Fut>(config: Config, f: F) -> Result<(), StartupError>
where
    F: FnOnce(AppContext) -> Fut,
    Fut: Future<Output = Result<(), aerie_backend::Error>>,
{
    let state = build_state(config, false).await?;
    let result = f(state.ctx.clone()).await;
    state.ctx.db().clone().close().await.ok();
    Ok(result?)
}

pub async fn plans(config: Config, cmd: PlansCommand) -> Result<(), StartupError> {
    with_context(config, |ctx| async move {
        let ctx = &ctx;
        match cmd {
            PlansCommand::List => print_plans(&billing::plans(ctx).await?),
            PlansCommand::Set {
                slug,
                name,
                price_label,
                credits,
                tokens_per_user,
                requests_per_minute,
                tokens_per_minute,
                features,
            } => {
                let plan = terms::set_plan(
                    ctx,
                    &Operator::cli(),
                    terms::PlanChange {
                        slug,
                        name,
                        price_label,
                        monthly_credits: credits.map(|l| l.0),
                        monthly_tokens_per_user: tokens_per_user.map(|l| l.0),
                        requests_per_minute: narrow(requests_per_minute)?,
                        tokens_per_minute: tokens_per_minute.map(|l| l.0),
                        features: features.map(|f| {
                            f.split(',')
                                .map(str::trim)
                                .filter(|s| !s.is_empty())
                                .map(str::to_owned)
                                .collect()
                        }),
                    },
                )
                .await?;
                print_plans(std::slice::from_ref(&plan));
            }
        }
        Ok(())
    })
    .await
}

pub async fn prices(config: Config, cmd: PricesCommand) -> Result<(), StartupError> {
    with_context(config, |ctx| async move {
        let ctx = &ctx;
        match cmd {
            PricesCommand::List => {
                println!("{:<40}  {:>14}  {:>14}", "MODEL", "INPUT/MTOK", "OUTPUT/MTOK");
                for (model, p) in terms::prices(ctx).await? {
                    println!(
                        "{:<40}  {:>14}  {:>14}",
                        model, p.input_per_mtok, p.output_per_mtok
                    );
                }
            }
            PricesCommand::Set {
                model,
                input,
                output,
            } => {
                terms::set_price(
                    ctx,
                    &Operator::cli(),
                    &model,
                    Price {
                        input_per_mtok: input,
                        output_per_mtok: output,
                    },
                )
                .await?;
                println!(
                    "{model}: {input} credits per million input tokens, {output} per million output tokens."
                );
            }
        }
        Ok(())
    })
    .await
}
