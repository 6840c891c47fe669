//! Routes and governed runs (docs/RUNS.md): the approvals inbox (runs waiting for the caller's
//! decision, and the runs the caller sees) and the routes editor (admins change routes; members
//! list them).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::contract::ErrorBody;
use crate::contract::ids::{AgentId, GroupId, RouteId, RunId, UserId};
use crate::contract::kinds::{ApprovalMode, RunDecision, RunStatus};
use crate::contract::runs::{Route, Run, RunPage};

/// The runs the caller sees, newest first (`status`: only those; `awaiting_me`: only the paused
/// runs the caller may decide on); `cursor` is the `next_cursor` of the page before.
#[server(prefix = "/_server", endpoint = "runs_list")]
pub async fn list_runs(
    awaiting_me: bool,
    #[server(default)] status: Option<RunStatus>,
    #[server(default)] cursor: Option<String>,
) -> Result<RunPage, ErrorBody> {
    use crate::backend::services::runs::RunQuery;
    let (ctx, actor) = super::ssr::context().await?;
    let query = RunQuery {
        status,
        awaiting_me,
        cursor: cursor.filter(|c| !c.trim().is_empty()),
        limit: None,
    };
    crate::backend::services::runs::list(&ctx, &actor, &query)
        .await
        .map_err(super::ssr::err)
}

/// An approver's decision on a paused run (`POST /v1/runs/{id}/resume`).
#[server(prefix = "/_server", endpoint = "runs_decide")]
pub async fn decide_run(
    id: RunId,
    decision: RunDecision,
    #[server(default)] comment: String,
) -> Result<Run, ErrorBody> {
    use crate::contract::runs::ResumeRun;
    let (ctx, actor) = super::ssr::context().await?;
    let input = ResumeRun { decision, comment };
    crate::backend::services::runs::resume(&ctx, &actor, id, input)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "routes_list")]
pub async fn list_routes() -> Result<Vec<Route>, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::runs::routes::list(&ctx, &actor)
        .await
        .map_err(super::ssr::err)
}

/// A route's settings as the routes page's form holds them: numbers as typed (parsed on the
/// server, so a mistake is a 400 naming the field).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteForm {
    /// Only for a new route (a route keeps its name).
    pub name: String,
    pub description: String,
    /// The agent that answers; `None`: `model`.
    pub agent_id: Option<AgentId>,
    /// A provider model (empty: the organisation's first one).
    pub model: String,
    pub approval: ApprovalMode,
    /// Credits; read only when `approval` is `above_cost`.
    pub approval_cost_above: String,
    pub approver_user_ids: Vec<UserId>,
    pub approver_group_ids: Vec<GroupId>,
    /// Minutes; empty: 60.
    pub approval_timeout_minutes: String,
}

#[cfg(feature = "ssr")]
impl RouteForm {
    /// What answers: the agent when one is chosen, else the model typed (empty: none).
    fn target(&self) -> (Option<AgentId>, Option<String>) {
        match self.agent_id {
            Some(agent) => (Some(agent), None),
            None => (
                None,
                Some(self.model.trim().to_owned()).filter(|m| !m.is_empty()),
            ),
        }
    }

    /// The cost threshold (only with `above_cost`) and the timeout, parsed.
    fn limits(&self) -> Result<(Option<i64>, Option<u32>), ErrorBody> {
        use super::ssr::optional_number as n;
        let cost = if self.approval == ApprovalMode::AboveCost {
            n("approval_cost_above", &self.approval_cost_above, "required")?
        } else {
            None
        };
        let timeout = n(
            "approval_timeout_minutes",
            &self.approval_timeout_minutes,
            "60",
        )?;
        Ok((cost, timeout))
    }
}

/// A new route (admins).
#[server(prefix = "/_server", endpoint = "routes_create", input = server_fn::codec::Json)]
pub async fn create_route(form: RouteForm) -> Result<Route, ErrorBody> {
    use crate::contract::runs::NewRoute;
    let (ctx, actor) = super::ssr::context().await?;
    let (agent_id, model) = form.target();
    let (approval_cost_above, approval_timeout_minutes) = form.limits()?;
    let input = NewRoute {
        name: form.name,
        description: form.description,
        agent_id,
        model,
        approval: form.approval,
        approval_cost_above,
        approver_user_ids: form.approver_user_ids,
        approver_group_ids: form.approver_group_ids,
        approval_timeout_minutes,
        guardrails: None,
        max_output_tokens: None,
    };
    crate::backend::services::runs::routes::create(&ctx, &actor, input)
        .await
        .map_err(super::ssr::err)
}

/// Changes what answers a route, when its runs wait and who approves them (admins). Its name,
/// guardrail policy and answer cap stay as they are.
#[server(prefix = "/_server", endpoint = "routes_update", input = server_fn::codec::Json)]
pub async fn edit_route(id: RouteId, form: RouteForm) -> Result<Route, ErrorBody> {
    use crate::backend::services::runs::routes::TIMEOUT_DEFAULT;
    use crate::contract::runs::UpdateRoute;
    let (ctx, actor) = super::ssr::context().await?;
    let (agent_id, model) = form.target();
    let (approval_cost_above, timeout) = form.limits()?;
    // Built here rather than sent as an `UpdateRoute`: that type's absent fields serialize as
    // `null`, which reads back as "clear" (the route's guardrail policy among them).
    let input = UpdateRoute {
        description: Some(form.description),
        agent_id: Some(agent_id),
        model: Some(model),
        approval: Some(form.approval),
        approval_cost_above: Some(approval_cost_above),
        approver_user_ids: Some(form.approver_user_ids),
        approver_group_ids: Some(form.approver_group_ids),
        approval_timeout_minutes: Some(timeout.unwrap_or(TIMEOUT_DEFAULT)),
        ..Default::default()
    };
    crate::backend::services::runs::routes::update(&ctx, &actor, id, input)
        .await
        .map_err(super::ssr::err)
}

/// Deletes a route (admins; never `default`: 409).
#[server(prefix = "/_server", endpoint = "routes_delete")]
pub async fn delete_route(id: RouteId) -> Result<(), ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::runs::routes::delete(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}
