//! Passwords: argon2id with OWASP's parameters (19 MiB, 2 iterations, 1 lane), hashed and
//! verified on the blocking pool so the async workers never stall.
//!
//! At most one hash per core runs at a time (so at most 19 MiB of working memory per core), and
//! up to 16 more per core may wait for their turn (well under a second of work in a release
//! build); beyond that a request is refused at once (429, `Retry-After: 1`) instead of queueing,
//! so a flood of logins costs neither gigabytes of argon2 memory nor unbounded latency.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::{Arc, LazyLock};
use tokio::sync::Semaphore;

use crate::{Error, Result};

/// OWASP (2024) minimum for argon2id: m = 19 MiB, t = 2, p = 1.
fn hasher() -> Result<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|e| Error::Internal(anyhow::anyhow!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The shortest password accepted.
pub const MIN_LEN: usize = 12;

/// Rejects passwords that are too short, too long or trivially guessable; names the field.
pub fn validate(password: &str, email: &str) -> Result<()> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(Error::invalid(
            "password",
            format!("password must be at least {MIN_LEN} characters long."),
        ));
    }
    if chars > 1024 {
        return Err(Error::invalid(
            "password",
            "password must be at most 1024 characters long.",
        ));
    }
    let lower = password.to_lowercase();
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    let distinct = lower
        .chars()
        .collect::<std::collections::HashSet<_>>()
        .len();
    if distinct < 4
        || (local.chars().count() >= 4 && lower.contains(&local))
        || COMMON.contains(&lower.as_str())
    {
        return Err(Error::invalid(
            "password",
            "password is too easy to guess; use a longer phrase that does not contain your email.",
        ));
    }
    Ok(())
}

const COMMON: &[&str] = &[
    "password1234",
    "passwordpassword",
    "123456789012",
    "qwertyuiopas",
    "letmeinletmein",
    "administrator",
    "adminadminadmin",
    "changemechangeme",
    "iloveyou1234",
];

/// Hashes or verifications waiting for a core, per core, before requests are refused.
const WAITING_PER_CORE: usize = 16;

/// Bounds concurrent password hashing: `running` permits (the cores) and `admitted` permits
/// (running plus waiting). Both permits travel into the blocking task, so a request that goes
/// away does not free its core before the hash ends.
pub struct Gate {
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
}

impl Gate {
    pub fn new(running: usize, waiting: usize) -> Self {
        let running = running.max(1);
        Self {
            running: Arc::new(Semaphore::new(running)),
            admitted: Arc::new(Semaphore::new(running + waiting)),
        }
    }

    /// Runs `work` on the blocking pool when a core is free; refuses with 429 when too many
    /// are running or waiting already.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let admitted =
            self.admitted
                .clone()
                .try_acquire_owned()
                .map_err(|_| Error::RateLimited {
                    retry_after_secs: 1,
                })?;
        let running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::Internal(anyhow::anyhow!("hashing gate: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let _permits = (running, admitted);
            work()
        })
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("hashing task: {e}")))?
    }
}

/// The process's gate, sized to its cores.
fn gate() -> &'static Gate {
    static GATE: LazyLock<Gate> = LazyLock::new(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Gate::new(cores, cores * WAITING_PER_CORE)
    });
    &GATE
}

fn hash_now(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(anyhow::anyhow!("argon2 hash: {e}")));
    release_working_memory();
    hash
}

/// Hashes on the blocking pool (through the gate).
pub async fn hash(password: String) -> Result<String> {
    gate().run(move || hash_now(&password)).await
}

/// Verifies on the blocking pool (through the gate). A malformed stored hash counts as a
/// mismatch.
pub async fn verify(password: String, stored: String) -> Result<bool> {
    gate()
        .run(move || {
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return Ok(false);
            };
            let ok = hasher()?
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            release_working_memory();
            Ok(ok)
        })
        .await
}

/// A hash to verify against when the account does not exist, so an unknown email costs the
/// same time as a wrong password (no account enumeration by timing). Made once, outside the
/// gate: a busy gate must not leave it empty.
pub async fn dummy_hash() -> Result<&'static str> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_try_init(|| async {
            tokio::task::spawn_blocking(|| hash_now("not-a-real-password-0000"))
                .await
                .map_err(|e| Error::Internal(anyhow::anyhow!("hashing task: {e}")))?
        })
        .await
        .map(String::as_str)
}

/// Gives argon2id's 19 MiB of working memory back to the operating system at once. The server's
/// allocator (mimalloc) would otherwise keep it cached on the idle blocking thread that hashed.
fn release_working_memory() {
    // SAFETY: `mi_collect` takes no pointers; it only returns the allocator's own free memory
    // (of this thread and the abandoned ones) to the OS. It is harmless when mimalloc is not
    // the global allocator (as in unit tests).
    unsafe { libmimalloc_sys::mi_collect(true) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_argon2id_owasp_parameters() {
        let h = hash("correct horse battery staple".to_owned())
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(
            verify("correct horse battery staple".to_owned(), h.clone())
                .await
                .unwrap()
        );
        assert!(
            !verify("wrong horse battery staple".to_owned(), h)
                .await
                .unwrap()
        );
        assert!(
            !verify("x".to_owned(), "not a hash".to_owned())
                .await
                .unwrap()
        );
    }

    #[test]
    fn weak_passwords_are_named() {
        for bad in [
            "short",
            "aaaaaaaaaaaaaaaa",
            "ada.lovelace-2024!",
            "password1234",
        ] {
            let err = validate(bad, "ada.lovelace@example.com").unwrap_err();
            assert_eq!(err.body().error.param.as_deref(), Some("password"), "{bad}");
        }
        validate("plum-orbit-cascade-42", "ada@example.com").unwrap();
    }

    #[tokio::test]
    async fn the_gate_refuses_beyond_running_and_waiting() {
        let gate = Arc::new(Gate::new(1, 1));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let first = {
            let gate = gate.clone();
            tokio::spawn(async move {
                gate.run(move || {
                    let _ = hold.recv();
                    Ok(1)
                })
                .await
            })
        };
        let second = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.run(|| Ok(2)).await })
        };
        // Both are admitted (one running, one waiting) before the third comes.
        while gate.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let err = gate.run(|| Ok(3)).await.unwrap_err();
        assert!(matches!(
            err,
            Error::RateLimited {
                retry_after_secs: 1
            }
        ));
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), 1);
        assert_eq!(second.await.unwrap().unwrap(), 2);
        // Every permit came back.
        assert_eq!(gate.run(|| Ok(4)).await.unwrap(), 4);
        assert_eq!(gate.admitted.available_permits(), 2);
    }
}
