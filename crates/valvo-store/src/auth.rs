//! Users, password hashes, sessions and API tokens.
//!
//! Session ids and API tokens are random 32-byte values handed to the client
//! once; the database keeps only their SHA-256 hashes.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;
use valvo_core::access::{Principal, Role};

use crate::rows::corrupt;
use crate::{is_unique_violation, now, Result, Store, StoreError};

/// How long a session lives without use.
pub const SESSION_HOURS: i64 = 12;

/// A user account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Login name.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Root of the user's org subtree, if limited.
    pub scope: Option<i64>,
    /// Whether the user may log in.
    pub active: bool,
}

impl User {
    /// The principal this user acts as.
    pub fn principal(&self) -> Principal {
        Principal {
            user_id: Some(self.id),
            label: self.email.clone(),
            role: self.role,
            scope: self.scope,
        }
    }
}

/// A logged-in session.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    /// The user.
    pub user: User,
    /// The per-session token every form must carry.
    pub csrf: String,
}

/// Hashes a password with Argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Corrupt(format!("password hashing: {e}")))
}

/// Checks a password against a stored hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// [`verify_password`] with `blocks` as Argon2's working memory, kept by the
/// caller from one check to the next: the 19 MB are allocated once per
/// checking thread instead of once per check (the allocator would keep
/// each check's pages and the server's memory would grow with every login).
fn verify_with_memory(password: &str, hash: &str, blocks: &mut Vec<argon2::Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = argon2::Params::try_from(&parsed) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, argon2::Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let ok = Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut blocks[..needed])
        .is_ok();
    // Output's comparison takes the same time wherever the bytes differ.
    ok && argon2::password_hash::Output::new(&out).is_ok_and(|o| o == expected)
}

/// Password checks at once in this process. Each check holds about 19 MB
/// (Argon2id's memory cost) and a core for tens of milliseconds. They run on
/// this many threads of their own, one after the other: a burst queues
/// instead of taking the server's memory (on threads started as needed,
/// every thread's allocator would keep its own 19 MB), and the other
/// requests go on meanwhile.
const PASSWORD_CHECKS: usize = 2;

type CheckJob = (String, String, tokio::sync::oneshot::Sender<bool>);

static CHECKER: std::sync::LazyLock<std::sync::mpsc::Sender<CheckJob>> =
    std::sync::LazyLock::new(|| {
        let (tx, rx) = std::sync::mpsc::channel::<CheckJob>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..PASSWORD_CHECKS {
            let rx = rx.clone();
            let started = std::thread::Builder::new()
                .name(format!("valvo-password-{i}"))
                .spawn(move || {
                    let mut blocks = Vec::new();
                    loop {
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => return,
                        };
                        let Ok((password, hash, reply)) = job else {
                            return;
                        };
                        let _ = reply.send(verify_with_memory(&password, &hash, &mut blocks));
                    }
                });
            if let Err(e) = started {
                tracing::error!(error = %e, "password check thread not started");
            }
        }
        tx
    });

/// [`verify_password`] on the password threads (see [`PASSWORD_CHECKS`]).
async fn checked_password(password: String, hash: String) -> Result<bool> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    CHECKER
        .send((password, hash, reply))
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    answer.await.map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_memory_reusing_check_agrees_with_the_library() {
        let hash = hash_password("oikea salasana").unwrap();
        let mut blocks = Vec::new();
        for (pw, ok) in [
            ("oikea salasana", true),
            ("väärä", false),
            ("", false),
            ("oikea salasana", true),
        ] {
            assert_eq!(verify_with_memory(pw, &hash, &mut blocks), ok, "{pw:?}");
            assert_eq!(verify_password(pw, &hash), ok);
        }
        assert!(!verify_with_memory("x", "not a hash", &mut blocks));
        assert!(!verify_with_memory("x", DUMMY_HASH, &mut blocks));
    }
}

/// A new random secret, URL-safe base64.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn digest(secret: &str) -> String {
    let hash = Sha256::digest(secret.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash)
}

pub(crate) fn user_row(row: &AnyRow) -> Result<User> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        scope: row.try_get("scope_org_id")?,
        active: row.try_get::<i64, _>("active")? != 0,
    })
}

pub(crate) const USER_COLS: &str = "u.id, u.email, u.name, u.role, u.scope_org_id, u.active";

pub(crate) fn offset_now(hours: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::hours(hours);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Store {
    /// Creates a user; the e-mail is stored lower-case and must be unique.
    pub async fn create_user(
        &self,
        actor: &Principal,
        email: &str,
        name: &str,
        role: Role,
        scope: Option<i64>,
        password: Option<&str>,
    ) -> Result<User> {
        // An administrator; one with a scope makes users within it only.
        if actor.role != Role::Admin {
            return Err(StoreError::Forbidden);
        }
        let email = email.trim().to_lowercase();
        let mut errors = Vec::new();
        if !email.contains('@') || email.len() > 254 || email.contains(char::is_whitespace) {
            errors.push(field("email", valvo_core::plan::ErrorCode::Invalid));
        }
        if name.trim().is_empty() {
            errors.push(field("name", valvo_core::plan::ErrorCode::Required));
        }
        if role.needs_scope() && scope.is_none() {
            errors.push(field("scope", valvo_core::plan::ErrorCode::Required));
        }
        if let Some(p) = password {
            if p.chars().count() < 10 {
                errors.push(field("password", valvo_core::plan::ErrorCode::Invalid));
            }
        }
        let mut tx = self.begin_write().await?;
        if scope.is_some() || actor.scope.is_some() {
            let tree = self.tree_in(&mut tx).await?;
            if let Some(s) = scope {
                if tree.get(s).is_none() {
                    errors.push(field("scope", valvo_core::plan::ErrorCode::Invalid));
                }
            }
            if !actor.may_see_user(&tree, scope) {
                return Err(StoreError::Forbidden);
            }
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let hash = match password {
            Some(p) => Some(hash_password(p)?),
            None => None,
        };
        let row = sqlx::query(
            "INSERT INTO users (email, name, role, scope_org_id, password_hash, active, created_at) \
             VALUES ($1, $2, $3, $4, $5, 1, $6) RETURNING id",
        )
        .bind(&email)
        .bind(name.trim())
        .bind(role.code())
        .bind(scope)
        .bind(hash)
        .bind(now())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict(format!("user {email} exists"))
            } else {
                StoreError::Db(e)
            }
        })?;
        let user = User {
            id: row.try_get("id")?,
            email,
            name: name.trim().to_string(),
            role,
            scope,
            active: true,
        };
        crate::write::audit(
            &mut tx,
            actor,
            "create",
            "user",
            &user.id.to_string(),
            scope,
            None,
            Some(serde_json::to_value(&user).unwrap_or_default()),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Sets a new password (administrators; also used by the demo loader).
    pub async fn set_password(
        &self,
        actor: &Principal,
        user_id: i64,
        password: &str,
    ) -> Result<()> {
        if !actor.can_administer() {
            return Err(StoreError::Forbidden);
        }
        let hash = hash_password(password)?;
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        crate::write::audit(
            &mut tx,
            actor,
            "set_password",
            "user",
            &user_id.to_string(),
            None,
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Finds a user by e-mail.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users u WHERE u.email = $1"
        ))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_row).transpose()
    }

    /// All users, by e-mail.
    pub async fn users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLS} FROM users u ORDER BY u.email"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_row).collect()
    }

    /// Checks e-mail and password; returns the user when both are right and the user is active.
    pub async fn authenticate(&self, email: &str, password: &str) -> Result<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.email = $1"
        ))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        let (hash, user) = match row {
            Some(row) => (
                row.try_get::<Option<String>, _>("password_hash")?,
                Some(user_row(&row)?),
            ),
            None => (None, None),
        };
        // Same work for an unknown e-mail, so timing does not tell which exist.
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_string());
        let ok = checked_password(password.to_string(), hash).await? && user.is_some();
        Ok(user.filter(|u| ok && u.active))
    }

    /// Starts a session; returns the secret for the cookie.
    pub async fn create_session(&self, user_id: i64) -> Result<String> {
        let secret = random_secret();
        // Expired sessions are removed whenever someone logs in.
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now())
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(digest(&secret))
        .bind(user_id)
        .bind(random_secret())
        .bind(now())
        .bind(offset_now(SESSION_HOURS))
        .execute(&self.pool)
        .await?;
        Ok(secret)
    }

    /// The live session for a cookie secret.
    pub async fn session(&self, secret: &str) -> Result<Option<SessionInfo>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS}, s.csrf, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1"
        ))
        .bind(digest(secret))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let expires: String = row.try_get("expires_at")?;
        if expires < now() {
            self.delete_session(secret).await?;
            return Ok(None);
        }
        let user = user_row(&row)?;
        if !user.active {
            return Ok(None);
        }
        Ok(Some(SessionInfo {
            user,
            csrf: row.try_get("csrf")?,
        }))
    }

    /// Ends a session.
    pub async fn delete_session(&self, secret: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(digest(secret))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Creates an API token for a user that works until revoked; returns
    /// the secret (shown once). See [`Store::create_token_with`].
    pub async fn create_token(
        &self,
        actor: &Principal,
        user_id: i64,
        label: &str,
    ) -> Result<String> {
        let spec = crate::TokenSpec {
            label: label.to_string(),
            ..Default::default()
        };
        Ok(self.create_token_with(actor, user_id, &spec).await?.1)
    }
}

pub(crate) fn field(name: &str, code: valvo_core::plan::ErrorCode) -> valvo_core::plan::FieldError {
    valvo_core::plan::FieldError {
        field: name.to_string(),
        code,
    }
}

/// A valid Argon2 hash of a random string, checked when the e-mail is unknown.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Jx0uyRw7ZzNoDHe2ksbk2U5JPsW4VZKRdPm3Kc9mNgo";
