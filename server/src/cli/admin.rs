//! `aerie admin …`. Accounts and organisations arrive with the identity issue; until then the
//! command explains itself instead of pretending.

use aerie_app::backend::config::Config;

use super::AdminCommand;
use crate::startup::StartupError;

pub async fn run(_config: Config, cmd: AdminCommand) -> Result<(), StartupError> {
    match cmd {
        AdminCommand::Create { .. } => Err(StartupError::Unavailable(
            "`admin create` is not available yet: accounts and organisations arrive with the identity release".to_owned(),
        )),
    }
}
