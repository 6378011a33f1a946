//! Accounts as a county's IT runs them: API tokens with a life cycle,
//! sign-in through the identity provider (OpenID Connect), deactivation and
//! role changes, and sign-in events in the audit log.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use valvo_core::access::{Principal, Role};

use crate::auth::{digest, field, random_secret, user_row, User, USER_COLS};
use crate::{is_unique_violation, now, Result, Store, StoreError};

/// What a new token may do.
#[derive(Clone, Debug, Default)]
pub struct TokenSpec {
    /// A name the owner recognises it by ("reporting service").
    pub label: String,
    /// Days until it stops working; `None`: until revoked.
    pub expires_in_days: Option<i64>,
    /// Only reads (GET), whatever the user may do.
    pub read_only: bool,
    /// A narrower scope than the user's: the root of an org subtree inside it.
    pub scope: Option<i64>,
}

/// A token as its owner and the administrators see it (never its secret).
#[derive(Clone, Debug, Serialize)]
pub struct TokenInfo {
    /// Id (`valvo token revoke ID`).
    pub id: i64,
    /// The owner.
    pub user_id: i64,
    /// The owner's e-mail.
    pub email: String,
    /// Its name.
    pub label: String,
    /// Created (RFC 3339).
    pub created_at: String,
    /// When it stops working, if ever.
    pub expires_at: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<String>,
    /// Its last use (to the minute).
    pub last_used_at: Option<String>,
    /// Reads only.
    pub read_only: bool,
    /// Its narrower scope.
    pub scope: Option<i64>,
}

impl TokenInfo {
    /// Whether it still works at `now` (RFC 3339).
    pub fn live(&self, now: &str) -> bool {
        self.revoked_at.is_none() && self.expires_at.as_deref().is_none_or(|e| e > now)
    }
}

/// The caller behind a live token.
#[derive(Clone, Debug)]
pub struct TokenCaller {
    /// Acts as this principal (the user's, within the token's scope).
    pub principal: Principal,
    /// Only reads.
    pub read_only: bool,
}

/// Who the identity provider says signed in.
#[derive(Clone, Debug)]
pub struct SsoIdentity {
    /// The provider (its issuer URL).
    pub issuer: String,
    /// The person's stable id at the provider.
    pub subject: String,
    /// The e-mail address, only if the provider says it is verified (or
    /// says nothing and the mapping trusts it: `email_trusted`).
    pub verified_email: Option<String>,
    /// The address is taken as verified without the provider saying so.
    pub email_trusted: bool,
    /// The person's name, if given.
    pub name: Option<String>,
}

/// The role and scope the mapping gives, and what it allows.
#[derive(Clone, Debug)]
pub struct SsoGrant {
    /// Role and the id of its scope, when a rule matched.
    pub role: Option<(Role, Option<i64>)>,
    /// Create an account when none matches.
    pub create_users: bool,
    /// Set an existing account's role and scope from the rule.
    pub update_roles: bool,
}

/// What a sign-in through the identity provider came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SsoOutcome {
    /// Signed in as this user (`true`: the account was made now).
    SignedIn(User, bool),
    /// The account exists but is deactivated.
    Inactive,
    /// No account, and the mapping makes none.
    NoAccount,
    /// The e-mail's account is linked to another person at the provider.
    LinkedElsewhere,
    /// The e-mail's account has a password, and the provider did not say the
    /// address is verified: it is not taken over on a trusted address.
    Unverified,
}

const TOKEN_COLS: &str = "t.id, t.user_id, u.email, t.label, t.created_at, t.expires_at, \
     t.revoked_at, t.last_used_at, t.read_only, t.scope_org_id";

fn token_row(row: &AnyRow) -> Result<TokenInfo> {
    Ok(TokenInfo {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        email: row.try_get("email")?,
        label: row.try_get("label")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        last_used_at: row.try_get("last_used_at")?,
        read_only: row.try_get::<i64, _>("read_only")? != 0,
        scope: row.try_get("scope_org_id")?,
    })
}

fn in_days(days: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::days(days);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `now` less `minutes`, RFC 3339.
fn minutes_ago(minutes: i64) -> String {
    let t = time::OffsetDateTime::now_utc() - time::Duration::minutes(minutes);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// How long a sign-in at the identity provider may take.
pub const SSO_LOGIN_MINUTES: i64 = 10;

impl Store {
    /// Creates an API token for a user; returns its id and the secret
    /// (shown once). The owner makes their own; administrators any user's.
    pub async fn create_token_with(
        &self,
        actor: &Principal,
        user_id: i64,
        spec: &TokenSpec,
    ) -> Result<(i64, String)> {
        if !actor.can_administer() && actor.user_id != Some(user_id) {
            return Err(StoreError::Forbidden);
        }
        let label = spec.label.trim();
        let mut errors = Vec::new();
        if label.is_empty() || label.chars().count() > 100 {
            errors.push(field("label", valvo_core::plan::ErrorCode::Invalid));
        }
        if spec
            .expires_in_days
            .is_some_and(|d| !(1..=3650).contains(&d))
        {
            errors.push(field(
                "expires_in_days",
                valvo_core::plan::ErrorCode::Invalid,
            ));
        }
        let mut tx = self.begin_write().await?;
        let lock = crate::write::for_share(&tx);
        let owner = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users u WHERE u.id = $1{lock}"
        ))
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(owner) = owner.as_ref().map(user_row).transpose()? else {
            return Err(StoreError::NotFound);
        };
        if !owner.active {
            return Err(StoreError::Conflict(format!(
                "user {} is deactivated",
                owner.email
            )));
        }
        if let Some(s) = spec.scope {
            // Inside the owner's own scope, never wider.
            let tree = self.tree_in(&mut tx).await?;
            let inside =
                tree.get(s).is_some() && owner.scope.is_none_or(|root| tree.is_in_subtree(s, root));
            if !inside {
                errors.push(field("scope", valvo_core::plan::ErrorCode::Invalid));
            }
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let secret = format!("valvo_{}", random_secret());
        let expires = spec.expires_in_days.map(in_days);
        let row = sqlx::query(
            "INSERT INTO api_tokens (user_id, token_hash, label, created_at, expires_at, read_only, scope_org_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(user_id)
        .bind(digest(&secret))
        .bind(label)
        .bind(now())
        .bind(&expires)
        .bind(i64::from(spec.read_only))
        .bind(spec.scope)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        crate::write::audit(
            &mut tx,
            actor,
            "create",
            "api_token",
            &id.to_string(),
            spec.scope.or(owner.scope),
            None,
            Some(serde_json::json!({
                "user_id": user_id, "label": label, "expires_at": expires,
                "read_only": spec.read_only, "scope": spec.scope,
            })),
        )
        .await?;
        tx.commit().await?;
        Ok((id, secret))
    }

    /// Tokens of one user (`Some`), or of everyone (administrators), newest first.
    pub async fn tokens(&self, actor: &Principal, user_id: Option<i64>) -> Result<Vec<TokenInfo>> {
        match user_id {
            Some(u) if actor.user_id == Some(u) || actor.can_administer() => {}
            None if actor.can_administer() => {}
            _ => return Err(StoreError::Forbidden),
        }
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE ($1 IS NULL OR t.user_id = $1) ORDER BY t.id DESC"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_row).collect()
    }

    /// The id of the token whose secret this is.
    pub async fn token_id_of(&self, secret: &str) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT id FROM api_tokens WHERE token_hash = $1")
            .bind(digest(secret))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get("id").map_err(StoreError::from))
            .transpose()
    }

    /// One token.
    pub async fn token(&self, id: i64) -> Result<Option<TokenInfo>> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(token_row).transpose()
    }

    /// Revokes a token (its owner or an administrator). It stops working at
    /// once on every instance: each request reads the token's row. Revoking
    /// a revoked token changes nothing and says so (`Ok(false)`).
    pub async fn revoke_token(&self, actor: &Principal, id: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        // The token's row only (not its user's), where the database can.
        let lock = if crate::write::for_update(&tx).is_empty() {
            ""
        } else {
            " FOR NO KEY UPDATE OF t"
        };
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1{lock}"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(token) = row.as_ref().map(token_row).transpose()? else {
            return Err(StoreError::NotFound);
        };
        if actor.user_id != Some(token.user_id) {
            let owner = sqlx::query(&format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1"))
                .bind(token.user_id)
                .fetch_one(&mut *tx)
                .await?;
            self.check_manage(&mut tx, actor, &user_row(&owner)?)
                .await?;
        }
        if token.revoked_at.is_some() {
            return Ok(false);
        }
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        crate::write::audit(
            &mut tx,
            actor,
            "revoke",
            "api_token",
            &id.to_string(),
            token.scope,
            Some(serde_json::json!({ "user_id": token.user_id, "label": token.label })),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The caller behind a live API token (not revoked, not expired, its
    /// user active). Notes the use, at most once a minute per token.
    pub async fn token_caller(&self, secret: &str) -> Result<Option<TokenCaller>> {
        let mut conn = self.pool.acquire().await?;
        token_caller_on(&mut conn, &self.tree_cache, secret).await
    }

    /// Deactivates or reactivates a user. Deactivation ends their sessions
    /// at once (they are deleted; every request reads its session's row and
    /// the user's `active`), and their tokens stop answering.
    pub async fn set_active(&self, actor: &Principal, user_id: i64, active: bool) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let user = self.managed_user_locked(&mut tx, actor, user_id).await?;
        if actor.user_id == Some(user_id) && !active {
            return Err(StoreError::Conflict(
                "you cannot deactivate yourself".to_string(),
            ));
        }
        if user.active == active {
            return Ok(false);
        }
        sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
            .bind(i64::from(active))
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if !active {
            // Nothing of the account works or waits: its sessions, its
            // unused password links, its messages not yet sent.
            for table in [
                "DELETE FROM sessions WHERE user_id = $1",
                "DELETE FROM password_links WHERE user_id = $1 AND used_at IS NULL",
                "DELETE FROM outbox WHERE user_id = $1 AND sent_at IS NULL",
            ] {
                sqlx::query(table).bind(user_id).execute(&mut *tx).await?;
            }
        }
        crate::write::audit(
            &mut tx,
            actor,
            if active { "reactivate" } else { "deactivate" },
            "user",
            &user_id.to_string(),
            user.scope,
            Some(serde_json::json!({ "active": user.active })),
            Some(serde_json::json!({ "active": active })),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Changes a user's role and scope.
    pub async fn set_role(
        &self,
        actor: &Principal,
        user_id: i64,
        role: Role,
        scope: Option<i64>,
    ) -> Result<User> {
        let mut tx = self.begin_write().await?;
        let before = self.managed_user_locked(&mut tx, actor, user_id).await?;
        let after = User {
            role,
            scope,
            ..before.clone()
        };
        // The new scope must exist and lie within the actor's too.
        if let Some(sc) = scope {
            if self.tree_in(&mut tx).await?.get(sc).is_none() {
                return Err(StoreError::Invalid(vec![field(
                    "scope",
                    valvo_core::plan::ErrorCode::NotFound,
                )]));
            }
        }
        self.check_manage(&mut tx, actor, &after).await?;
        if role.needs_scope() && scope.is_none() {
            return Err(StoreError::Invalid(vec![field(
                "scope",
                valvo_core::plan::ErrorCode::Required,
            )]));
        }
        if actor.user_id == Some(user_id) && role != before.role {
            return Err(StoreError::Conflict(
                "you cannot change your own role".to_string(),
            ));
        }
        if before.role == role && before.scope == scope {
            return Ok(before);
        }
        sqlx::query("UPDATE users SET role = $1, scope_org_id = $2 WHERE id = $3")
            .bind(role.code())
            .bind(scope)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        crate::write::audit(
            &mut tx,
            actor,
            "set_role",
            "user",
            &user_id.to_string(),
            scope.or(before.scope),
            Some(serde_json::json!({ "role": before.role.code(), "scope": before.scope })),
            Some(serde_json::json!({ "role": role.code(), "scope": scope })),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The user `user_id`, its row locked for the rest of the transaction
    /// (where the database can), if `actor` may manage it.
    async fn managed_user_locked(
        &self,
        conn: &mut sqlx::AnyConnection,
        actor: &Principal,
        user_id: i64,
    ) -> Result<User> {
        let lock = crate::write::for_update(conn);
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users u WHERE u.id = $1{lock}"
        ))
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(user) = row.as_ref().map(user_row).transpose()? else {
            return Err(StoreError::NotFound);
        };
        self.check_manage(conn, actor, &user).await?;
        Ok(user)
    }

    /// Whether `actor` may manage `user`: an administrator without a scope
    /// everyone; one with a scope only users whose scope lies inside it.
    async fn check_manage(
        &self,
        conn: &mut sqlx::AnyConnection,
        actor: &Principal,
        user: &User,
    ) -> Result<()> {
        if actor.role != Role::Admin {
            return Err(StoreError::Forbidden);
        }
        if actor.scope.is_none() {
            return Ok(());
        }
        let tree = self.tree_in(conn).await?;
        if actor.may_see_user(&tree, user.scope) {
            Ok(())
        } else {
            Err(StoreError::Forbidden)
        }
    }

    /// Notes a sign-in in the audit log (`method`: `password` or `sso`), and
    /// the language signed in with (the one notifications are written in).
    pub async fn record_sign_in(
        &self,
        user: &User,
        method: &str,
        lang: valvo_core::Lang,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE users SET last_sign_in_at = $1, \
             lang = CASE WHEN lang_chosen = 0 THEN $2 ELSE lang END WHERE id = $3",
        )
        .bind(now())
        .bind(lang.code())
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
        crate::write::audit(
            &mut tx,
            &user.principal(),
            "sign_in",
            "user",
            &user.id.to_string(),
            user.scope,
            None,
            Some(serde_json::json!({ "method": method })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Notes a failed sign-in in the audit log, for administrators to see:
    /// the address tried (as given, cut to 254 characters), the method and
    /// why (`password`, `inactive`, `no_account`, `provider`, …).
    pub async fn record_failed_sign_in(
        &self,
        tried: &str,
        method: &str,
        reason: &str,
    ) -> Result<()> {
        let tried: String = tried.trim().chars().take(254).collect();
        let mut tx = self.begin_write().await?;
        crate::write::audit(
            &mut tx,
            &Principal::system("anonymous"),
            "sign_in_failed",
            "user",
            &tried,
            None,
            None,
            Some(serde_json::json!({ "method": method, "reason": reason })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Remembers a sign-in started at the identity provider, under the
    /// hash of its `state`; forgets those older than [`SSO_LOGIN_MINUTES`].
    pub async fn begin_sso(
        &self,
        state: &str,
        nonce: &str,
        verifier: &str,
        next: &str,
    ) -> Result<()> {
        sqlx::query("DELETE FROM oidc_logins WHERE created_at < $1")
            .bind(minutes_ago(SSO_LOGIN_MINUTES))
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO oidc_logins (state_hash, nonce, verifier, next, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(digest(state))
        .bind(nonce)
        .bind(verifier)
        .bind(next)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes the sign-in of `state` (nonce, verifier, next): once only, and
    /// only within [`SSO_LOGIN_MINUTES`]. A delete that returns the row: two
    /// callbacks with the same state, on any instances, cannot both get it.
    pub async fn take_sso(&self, state: &str) -> Result<Option<(String, String, String)>> {
        let row = sqlx::query(
            "DELETE FROM oidc_logins WHERE state_hash = $1 AND created_at >= $2 \
             RETURNING nonce, verifier, next",
        )
        .bind(digest(state))
        .bind(minutes_ago(SSO_LOGIN_MINUTES))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok((
                r.try_get("nonce")?,
                r.try_get("verifier")?,
                r.try_get("next")?,
            ))
        })
        .transpose()
    }

    /// The account of a person the identity provider signed in: the one
    /// linked to their provider id; else the one of their verified e-mail
    /// (then linked); else a new one when the mapping gives a role and
    /// allows it. Two first sign-ins at once make one account: the second
    /// insert meets the unique e-mail and finds the first's.
    pub async fn sso_account(&self, who: &SsoIdentity, grant: &SsoGrant) -> Result<SsoOutcome> {
        for _ in 0..2 {
            match self.sso_account_once(who, grant).await {
                Err(StoreError::Conflict(_)) => continue,
                other => return other,
            }
        }
        self.sso_account_once(who, grant).await
    }

    async fn sso_account_once(&self, who: &SsoIdentity, grant: &SsoGrant) -> Result<SsoOutcome> {
        let system = Principal::system("sso");
        let mut tx = self.begin_write().await?;
        let lock = crate::write::for_update(&tx);
        let linked = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users u WHERE u.oidc_issuer = $1 AND u.oidc_subject = $2{lock}"
        ))
        .bind(&who.issuer)
        .bind(&who.subject)
        .fetch_optional(&mut *tx)
        .await?;
        let mut user = linked.as_ref().map(user_row).transpose()?;
        if user.is_none() {
            if let Some(email) = &who.verified_email {
                let row = sqlx::query(&format!(
                    "SELECT {USER_COLS}, u.oidc_issuer, u.oidc_subject, u.password_hash FROM users u WHERE u.email = $1{lock}"
                ))
                .bind(email.trim().to_lowercase())
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(row) = row {
                    // An account that has a password is linked only on an
                    // address the provider itself calls verified.
                    let has_password = row.try_get::<Option<String>, _>("password_hash")?.is_some();
                    if who.email_trusted && has_password {
                        return Ok(SsoOutcome::Unverified);
                    }
                    let issuer: Option<String> = row.try_get("oidc_issuer")?;
                    let subject: Option<String> = row.try_get("oidc_subject")?;
                    if issuer.as_deref() == Some(who.issuer.as_str())
                        && subject.is_some_and(|s| s != who.subject)
                    {
                        return Ok(SsoOutcome::LinkedElsewhere);
                    }
                    let found = user_row(&row)?;
                    sqlx::query(
                        "UPDATE users SET oidc_issuer = $1, oidc_subject = $2 WHERE id = $3",
                    )
                    .bind(&who.issuer)
                    .bind(&who.subject)
                    .bind(found.id)
                    .execute(&mut *tx)
                    .await?;
                    crate::write::audit(
                        &mut tx,
                        &system,
                        "link",
                        "user",
                        &found.id.to_string(),
                        found.scope,
                        None,
                        Some(serde_json::json!({ "issuer": who.issuer, "subject": who.subject })),
                    )
                    .await?;
                    user = Some(found);
                }
            }
        }
        let mut created = false;
        let user = match user {
            Some(u) if !u.active => return Ok(SsoOutcome::Inactive),
            // The mapping governs roles and names no role for this person
            // (removed from the group): no sign-in.
            Some(_) if grant.update_roles && grant.role.is_none() => {
                return Ok(SsoOutcome::NoAccount)
            }
            Some(mut u) => {
                if let (true, Some((role, scope))) = (grant.update_roles, grant.role) {
                    if (u.role, u.scope) != (role, scope) {
                        sqlx::query("UPDATE users SET role = $1, scope_org_id = $2 WHERE id = $3")
                            .bind(role.code())
                            .bind(scope)
                            .bind(u.id)
                            .execute(&mut *tx)
                            .await?;
                        crate::write::audit(
                            &mut tx,
                            &system,
                            "set_role",
                            "user",
                            &u.id.to_string(),
                            scope.or(u.scope),
                            Some(serde_json::json!({ "role": u.role.code(), "scope": u.scope })),
                            Some(serde_json::json!({ "role": role.code(), "scope": scope })),
                        )
                        .await?;
                        u.role = role;
                        u.scope = scope;
                    }
                }
                u
            }
            None => {
                let (Some((role, scope)), true, Some(email)) =
                    (grant.role, grant.create_users, who.verified_email.as_ref())
                else {
                    return Ok(SsoOutcome::NoAccount);
                };
                let email = email.trim().to_lowercase();
                let name = who
                    .name
                    .as_deref()
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .unwrap_or(&email)
                    .to_string();
                let row = sqlx::query(
                    "INSERT INTO users (email, name, role, scope_org_id, password_hash, active, created_at, oidc_issuer, oidc_subject) \
                     VALUES ($1, $2, $3, $4, NULL, 1, $5, $6, $7) RETURNING id",
                )
                .bind(&email)
                .bind(&name)
                .bind(role.code())
                .bind(scope)
                .bind(now())
                .bind(&who.issuer)
                .bind(&who.subject)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Conflict(format!("user {email} exists"))
                    } else {
                        StoreError::Db(e)
                    }
                })?;
                let u = User {
                    id: row.try_get("id")?,
                    email,
                    name,
                    role,
                    scope,
                    active: true,
                };
                crate::write::audit(
                    &mut tx,
                    &system,
                    "create",
                    "user",
                    &u.id.to_string(),
                    scope,
                    None,
                    Some(serde_json::to_value(&u).unwrap_or_default()),
                )
                .await?;
                created = true;
                u
            }
        };
        tx.commit().await?;
        Ok(SsoOutcome::SignedIn(user, created))
    }
}

/// A user as the user administration lists them.
#[derive(Clone, Debug, Serialize)]
pub struct UserListing {
    /// The account.
    #[serde(flatten)]
    pub user: User,
    /// The last sign-in (RFC 3339).
    pub last_sign_in_at: Option<String>,
    /// Linked to an account at the identity provider.
    pub sso: bool,
    /// Has a password.
    pub has_password: bool,
    /// Made (RFC 3339).
    pub created_at: String,
}

/// How long a set-password link works.
pub const PASSWORD_LINK_DAYS: i64 = 7;

const LISTING_COLS: &str = "u.id, u.email, u.name, u.role, u.scope_org_id, u.active, \
     u.last_sign_in_at, u.oidc_subject, u.password_hash, u.created_at";

fn listing_row(row: &AnyRow) -> Result<UserListing> {
    Ok(UserListing {
        user: user_row(row)?,
        last_sign_in_at: row.try_get("last_sign_in_at")?,
        sso: row.try_get::<Option<String>, _>("oidc_subject")?.is_some(),
        has_password: row.try_get::<Option<String>, _>("password_hash")?.is_some(),
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// The users an administrator manages (one with a scope: those whose
    /// scope lies inside it), whose e-mail or name contains `q` (any case).
    pub async fn users_for(&self, actor: &Principal, q: &str) -> Result<Vec<UserListing>> {
        if actor.role != Role::Admin {
            return Err(StoreError::Forbidden);
        }
        let tree = self.org_tree().await?;
        let rows = sqlx::query(&format!(
            "SELECT {LISTING_COLS} FROM users u ORDER BY u.email"
        ))
        .fetch_all(&self.pool)
        .await?;
        let q = q.trim().to_lowercase();
        let mut out = Vec::new();
        for row in &rows {
            let l = listing_row(row)?;
            if !actor.may_see_user(&tree, l.user.scope) {
                continue;
            }
            if q.is_empty() || l.user.email.contains(&q) || l.user.name.to_lowercase().contains(&q)
            {
                out.push(l);
            }
        }
        Ok(out)
    }

    /// One user an administrator manages.
    pub async fn user_for(&self, actor: &Principal, id: i64) -> Result<UserListing> {
        let row = sqlx::query(&format!(
            "SELECT {LISTING_COLS} FROM users u WHERE u.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(l) = row.as_ref().map(listing_row).transpose()? else {
            return Err(StoreError::NotFound);
        };
        let mut conn = self.pool.acquire().await?;
        self.check_manage(&mut conn, actor, &l.user).await?;
        Ok(l)
    }

    /// A one-time link for `user_id` to set a password (an invitation, or a
    /// reset: `reset` also removes the current password and ends the user's
    /// sessions). Earlier unused links of the user stop working.
    pub async fn password_link(
        &self,
        actor: &Principal,
        user_id: i64,
        reset: bool,
    ) -> Result<String> {
        let mut tx = self.begin_write().await?;
        let user = self.managed_user_locked(&mut tx, actor, user_id).await?;
        if !user.active {
            return Err(StoreError::Conflict(format!(
                "user {} is deactivated",
                user.email
            )));
        }
        if reset {
            sqlx::query("UPDATE users SET password_hash = NULL WHERE id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM password_links WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let secret = random_secret();
        sqlx::query(
            "INSERT INTO password_links (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(digest(&secret))
        .bind(user_id)
        .bind(now())
        .bind(in_days(PASSWORD_LINK_DAYS))
        .execute(&mut *tx)
        .await?;
        crate::write::audit(
            &mut tx,
            actor,
            if reset {
                "reset_password"
            } else {
                "password_link"
            },
            "user",
            &user_id.to_string(),
            user.scope,
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// The user a set-password link is for, while it works.
    pub async fn password_link_user(&self, secret: &str) -> Result<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM password_links l JOIN users u ON u.id = l.user_id \
             WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > $2 AND u.active = 1"
        ))
        .bind(digest(secret))
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_row).transpose()
    }

    /// Sets the password of a link's user, once: the link is marked used by
    /// a conditional update, so two submissions at once set it once.
    pub async fn use_password_link(&self, secret: &str, password: &str) -> Result<User> {
        if password.chars().count() < 10 || password.chars().count() > 1000 {
            return Err(StoreError::Invalid(vec![field(
                "password",
                valvo_core::plan::ErrorCode::Invalid,
            )]));
        }
        let hash = crate::auth::hash_password(password)?;
        let at = now();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE password_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL \
             AND expires_at > $1 RETURNING user_id",
        )
        .bind(&at)
        .bind(digest(secret))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound);
        };
        let user_id: i64 = row.try_get("user_id")?;
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1"))
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        let user = user_row(&row)?;
        if !user.active {
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        crate::write::audit(
            &mut tx,
            &user.principal(),
            "set_password",
            "user",
            &user_id.to_string(),
            user.scope,
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }
}

/// [`Store::token_caller`] on `conn` (in its transaction, if any: a write
/// that checks its token there sees a revocation committed before it).
pub(crate) async fn token_caller_on(
    conn: &mut sqlx::AnyConnection,
    trees: &crate::TreeCache,
    secret: &str,
) -> Result<Option<TokenCaller>> {
    let at = now();
    let row = sqlx::query(&format!(
        "SELECT {USER_COLS}, t.id AS token_id, t.read_only, t.scope_org_id AS token_scope, \
         t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL \
         AND (t.expires_at IS NULL OR t.expires_at > $2)"
    ))
    .bind(digest(secret))
    .bind(&at)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let user = user_row(&row)?;
    if !user.active {
        return Ok(None);
    }
    let token_id: i64 = row.try_get("token_id")?;
    let last: Option<String> = row.try_get("last_used_at")?;
    let minute_ago = minutes_ago(1);
    if last.as_deref().is_none_or(|l| l < minute_ago.as_str()) {
        // A conditional update: instances at once write it once.
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 \
             AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(&at)
        .bind(token_id)
        .bind(&minute_ago)
        .execute(&mut *conn)
        .await?;
    }
    let mut principal = user.principal();
    // A token's own scope counts only inside the user's scope as it is
    // now (the user may have been narrowed or moved since it was made).
    if let Some(scope) = row.try_get::<Option<i64>, _>("token_scope")? {
        if let Some(root) = user.scope {
            let tree = trees.tree(conn).await?;
            if !tree.is_in_subtree(scope, root) {
                return Ok(None);
            }
        }
        principal.scope = Some(scope);
    }
    Ok(Some(TokenCaller {
        principal,
        read_only: row.try_get::<i64, _>("read_only")? != 0,
    }))
}
