//! Instance secrets: generated on first start, kept in `<data_dir>/secrets.json` with mode 0600,
//! never hard-coded and never logged (`SecretString` prints `[REDACTED]`).

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::config::ConfigError;

/// The instance's own secrets.
#[derive(Clone, Debug)]
pub struct Secrets {
    /// Signs JWT access tokens.
    pub jwt_signing_key: SecretString,
    /// Signs session cookies (the cookie carries only the session id; the record is in the
    /// database).
    pub session_key: SecretString,
    /// Peppers API-key and refresh-token hashes.
    pub token_pepper: SecretString,
    /// Encrypts provider and SSO client secrets at rest.
    pub encryption_key: SecretString,
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    jwt_signing_key: String,
    session_key: String,
    token_pepper: String,
    encryption_key: String,
}

/// The file the secrets live in.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("secrets.json")
}

fn generate() -> String {
    let mut bytes = [0u8; 64];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Secrets {
    /// Reads the secrets file, creating it (0600) with fresh random secrets on first start.
    /// Returns the secrets and whether they were generated now.
    pub fn load_or_create(data_dir: &Path) -> Result<(Self, bool), ConfigError> {
        let file = path(data_dir);
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                check_permissions(&file)?;
                let disk: OnDisk = serde_json::from_str(&text).map_err(|e| {
                    ConfigError(format!(
                        "secrets file {} is unreadable: {e}",
                        file.display()
                    ))
                })?;
                Ok((disk.into(), false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let disk = OnDisk {
                    version: 1,
                    jwt_signing_key: generate(),
                    session_key: generate(),
                    token_pepper: generate(),
                    encryption_key: generate(),
                };
                write_new(&file, &disk)?;
                Ok((disk.into(), true))
            }
            Err(e) => Err(ConfigError(format!(
                "cannot read secrets file {}: {e}",
                file.display()
            ))),
        }
    }

    /// Random secrets that live only in memory (tests).
    pub fn ephemeral() -> Self {
        OnDisk {
            version: 1,
            jwt_signing_key: generate(),
            session_key: generate(),
            token_pepper: generate(),
            encryption_key: generate(),
        }
        .into()
    }

    /// True when the given text contains any secret (used by tests that check logs and bodies).
    pub fn appears_in(&self, text: &str) -> bool {
        [
            &self.jwt_signing_key,
            &self.session_key,
            &self.token_pepper,
            &self.encryption_key,
        ]
        .iter()
        .any(|s| text.contains(s.expose_secret()))
    }
}

impl From<OnDisk> for Secrets {
    fn from(d: OnDisk) -> Self {
        Self {
            jwt_signing_key: SecretString::from(d.jwt_signing_key),
            session_key: SecretString::from(d.session_key),
            token_pepper: SecretString::from(d.token_pepper),
            encryption_key: SecretString::from(d.encryption_key),
        }
    }
}

fn write_new<T: Serialize>(file: &Path, disk: &T) -> Result<(), ConfigError> {
    let fail = |e: std::io::Error| {
        ConfigError(format!(
            "cannot create secrets file {}: {e}",
            file.display()
        ))
    };
    let text = serde_json::to_string_pretty(disk)
        .map_err(|e| ConfigError(format!("cannot encode secrets: {e}")))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(file).map_err(fail)?;
    f.write_all(text.as_bytes()).map_err(fail)?;
    f.sync_all().map_err(fail)?;
    Ok(())
}

#[cfg(unix)]
fn check_permissions(file: &Path) -> Result<(), ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(file)
        .map_err(|e| ConfigError(format!("cannot stat {}: {e}", file.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(ConfigError(format!(
            "secrets file {} is accessible by other users (mode {:o}); run: chmod 600 {}",
            file.display(),
            mode & 0o777,
            file.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_file: &Path) -> Result<(), ConfigError> {
    Ok(())
}

/// The SAML service provider's key pair on disk (`<data_dir>/saml-sp.json`, mode 0600), next to
/// the instance secrets.
#[cfg(feature = "saml")]
#[derive(Serialize, Deserialize)]
struct SamlOnDisk {
    version: u32,
    cert_der_b64: String,
    key_pem: String,
}

/// Reads the SAML SP key pair, creating it with `generate` (0600) when absent.
#[cfg(feature = "saml")]
pub fn load_or_create_saml(
    data_dir: &Path,
    generate: impl FnOnce() -> anyhow::Result<crate::sso::saml::SpKeys>,
) -> Result<crate::sso::saml::SpKeys, ConfigError> {
    use base64::engine::general_purpose::STANDARD;
    let file = data_dir.join("saml-sp.json");
    match std::fs::read_to_string(&file) {
        Ok(text) => {
            check_permissions(&file)?;
            let disk: SamlOnDisk = serde_json::from_str(&text).map_err(|e| {
                ConfigError(format!(
                    "SAML key file {} is unreadable: {e}",
                    file.display()
                ))
            })?;
            let cert_der = STANDARD.decode(disk.cert_der_b64).map_err(|e| {
                ConfigError(format!(
                    "SAML key file {} is unreadable: {e}",
                    file.display()
                ))
            })?;
            Ok(crate::sso::saml::SpKeys {
                cert_der,
                key_pem: SecretString::from(disk.key_pem),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let keys = generate()
                .map_err(|e| ConfigError(format!("cannot generate the SAML key pair: {e}")))?;
            write_new(
                &file,
                &SamlOnDisk {
                    version: 1,
                    cert_der_b64: STANDARD.encode(&keys.cert_der),
                    key_pem: keys.key_pem.expose_secret().to_owned(),
                },
            )?;
            Ok(keys)
        }
        Err(e) => Err(ConfigError(format!(
            "cannot read SAML key file {}: {e}",
            file.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_with_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (first, created) = Secrets::load_or_create(dir.path()).unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (second, created) = Secrets::load_or_create(dir.path()).unwrap();
        assert!(!created);
        assert_eq!(
            first.jwt_signing_key.expose_secret(),
            second.jwt_signing_key.expose_secret()
        );
        assert_ne!(
            first.jwt_signing_key.expose_secret(),
            first.session_key.expose_secret()
        );
        assert!(first.jwt_signing_key.expose_secret().len() >= 80);
    }

    #[test]
    fn debug_never_prints_a_secret() {
        let s = Secrets::ephemeral();
        let printed = format!("{s:?}");
        assert!(!s.appears_in(&printed), "{printed}");
    }

    #[cfg(unix)]
    #[test]
    fn world_readable_file_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        Secrets::load_or_create(dir.path()).unwrap();
        std::fs::set_permissions(path(dir.path()), std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Secrets::load_or_create(dir.path()).unwrap_err().0;
        assert!(err.contains("chmod 600"), "{err}");
    }
}
