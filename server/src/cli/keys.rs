//! `aerie keys …`. API keys arrive with the identity issue; until then each command explains
//! itself instead of pretending.

use aerie_app::backend::config::Config;

use super::KeysCommand;
use crate::startup::StartupError;

pub async fn run(_config: Config, cmd: KeysCommand) -> Result<(), StartupError> {
    let verb = match cmd {
        KeysCommand::Create { .. } => "create",
        KeysCommand::List { .. } => "list",
        KeysCommand::Revoke { .. } => "revoke",
    };
    Err(StartupError::Unavailable(format!(
        "`keys {verb}` is not available yet: API keys arrive with the identity release"
    )))
}
