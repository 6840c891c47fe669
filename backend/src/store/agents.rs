use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::Value;

use super::ts;
use crate::db::entities::agents;
use aerie_contract::agents::Visibility;
use aerie_contract::ids::{AgentId, KbId, OrgId, ProviderId, UserId};

impl agents::Model {
    /// Who can see the agent: the one reading of the stored `visibility` column. A value this
    /// build does not know reads as `private` (owner and admins only), as it always has.
    pub fn visibility(&self) -> Visibility {
        Visibility::parse(&self.visibility).unwrap_or_default()
    }
}

/// An agent to store (unpublished), as the service validated it.
pub struct NewAgent {
    pub org: OrgId,
    pub owner: UserId,
    pub name: String,
    pub description: String,
    pub system_prompt: String,
    pub provider: Option<ProviderId>,
    pub model: String,
    pub parameters: Value,
    pub reasoning_enabled: bool,
    pub tools: Value,
    pub knowledge_base_ids: Value,
    pub visibility: Visibility,
    pub group_ids: Value,
    pub now: DateTime<Utc>,
}

/// The fields an update sets (`None`: unchanged); `updated_at` is always set.
#[derive(Default)]
pub struct AgentChanges {
    pub name: Option<String>,
    pub model: Option<String>,
    pub description: Option<String>,
    pub system_prompt: Option<String>,
    pub provider: Option<Option<ProviderId>>,
    pub parameters: Option<Value>,
    pub reasoning_enabled: Option<bool>,
    pub tools: Option<Value>,
    pub knowledge_base_ids: Option<Value>,
    pub visibility: Option<Visibility>,
    pub published: Option<bool>,
    pub group_ids: Option<Value>,
}

pub async fn list<C: ConnectionTrait>(db: &C, org: OrgId) -> Result<Vec<agents::Model>, DbErr> {
    agents::Entity::find()
        .filter(agents::Column::OrgId.eq(org.0))
        .order_by_asc(agents::Column::Name)
        .all(db)
        .await
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: AgentId,
) -> Result<Option<agents::Model>, DbErr> {
    agents::Entity::find_by_id(id.0)
        .filter(agents::Column::OrgId.eq(org.0))
        .one(db)
        .await
}

pub async fn find_by_name<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    name: &str,
) -> Result<Option<agents::Model>, DbErr> {
    agents::Entity::find()
        .filter(agents::Column::OrgId.eq(org.0))
        .filter(agents::Column::Name.eq(name))
        .one(db)
        .await
}

pub async fn using_provider<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    provider: ProviderId,
) -> Result<Vec<String>, DbErr> {
    agents::Entity::find()
        .select_only()
        .column(agents::Column::Name)
        .filter(agents::Column::OrgId.eq(org.0))
        .filter(agents::Column::ProviderId.eq(provider.0))
        .into_tuple::<String>()
        .all(db)
        .await
}

/// Published public agents of every organisation (the marketplace is public by design).
pub async fn marketplace_global<C: ConnectionTrait>(
    db: &C,
    limit: u64,
) -> Result<Vec<agents::Model>, DbErr> {
    agents::Entity::find()
        .filter(agents::Column::Published.eq(true))
        .filter(agents::Column::Visibility.eq(Visibility::Public.as_str()))
        .order_by_desc(agents::Column::UpdatedAt)
        .limit(limit)
        .all(db)
        .await
}

/// Stores a new agent with a fresh id.
pub async fn create<C: ConnectionTrait>(db: &C, new: NewAgent) -> Result<agents::Model, DbErr> {
    let now = ts(new.now);
    agents::ActiveModel {
        id: Set(AgentId::new().0),
        org_id: Set(new.org.0),
        owner_id: Set(new.owner.0),
        name: Set(new.name),
        description: Set(new.description),
        system_prompt: Set(new.system_prompt),
        provider_id: Set(new.provider.map(|i| i.0)),
        model: Set(new.model),
        parameters: Set(new.parameters),
        reasoning_enabled: Set(new.reasoning_enabled),
        tools: Set(new.tools),
        knowledge_base_ids: Set(new.knowledge_base_ids),
        visibility: Set(new.visibility.as_str().to_owned()),
        group_ids: Set(new.group_ids),
        published: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

/// Saves `changes` to an agent already known to belong to `org`.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: agents::Model,
    changes: AgentChanges,
    now: DateTime<Utc>,
) -> Result<agents::Model, DbErr> {
    if row.org_id != org.0 {
        return Err(DbErr::RecordNotFound("agent".to_owned()));
    }
    let mut m: agents::ActiveModel = row.into();
    let AgentChanges {
        name,
        model,
        description,
        system_prompt,
        provider,
        parameters,
        reasoning_enabled,
        tools,
        knowledge_base_ids,
        visibility,
        published,
        group_ids,
    } = changes;
    if let Some(v) = name {
        m.name = Set(v);
    }
    if let Some(v) = model {
        m.model = Set(v);
    }
    if let Some(v) = description {
        m.description = Set(v);
    }
    if let Some(v) = system_prompt {
        m.system_prompt = Set(v);
    }
    if let Some(v) = provider {
        m.provider_id = Set(v.map(|i| i.0));
    }
    if let Some(v) = parameters {
        m.parameters = Set(v);
    }
    if let Some(v) = reasoning_enabled {
        m.reasoning_enabled = Set(v);
    }
    if let Some(v) = tools {
        m.tools = Set(v);
    }
    if let Some(v) = knowledge_base_ids {
        m.knowledge_base_ids = Set(v);
    }
    if let Some(v) = visibility {
        m.visibility = Set(v.as_str().to_owned());
    }
    if let Some(v) = published {
        m.published = Set(v);
    }
    if let Some(v) = group_ids {
        m.group_ids = Set(v);
    }
    m.updated_at = Set(ts(now));
    super::update_in_org(db, m, agents::Column::OrgId, org).await
}

pub async fn delete<C: ConnectionTrait>(db: &C, org: OrgId, id: AgentId) -> Result<u64, DbErr> {
    Ok(agents::Entity::delete_many()
        .filter(agents::Column::Id.eq(id.0))
        .filter(agents::Column::OrgId.eq(org.0))
        .exec(db)
        .await?
        .rows_affected)
}

/// Takes the knowledge base `kb` off every agent of `org` that uses it; returns how many.
pub async fn remove_knowledge_base<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    kb: KbId,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let mut changed = 0;
    for row in list(db, org).await? {
        let ids: Vec<KbId> = super::id_list(&row.knowledge_base_ids);
        if !ids.contains(&kb) {
            continue;
        }
        let kept: Vec<KbId> = ids.into_iter().filter(|i| *i != kb).collect();
        let changes = AgentChanges {
            knowledge_base_ids: Some(super::id_json(&kept)),
            ..Default::default()
        };
        update(db, org, row, changes, now).await?;
        changed += 1;
    }
    Ok(changed)
}
