//! `valvo user …` and `valvo token …`: accounts and API tokens from the
//! server's command line, for the county's IT.

use valvo_core::access::{Principal, Role};
use valvo_store::{Store, TokenSpec, User};

use crate::{describe, find_scope, TokenCommand, UserCommand};

async fn user_of(store: &Store, email: &str) -> Result<User, String> {
    store
        .user_by_email(email)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user {email}"))
}

fn role_of(role: &str) -> Result<Role, String> {
    Role::parse(role).ok_or_else(|| {
        format!(
            "unknown role {role:?}: use admin, quality_coordinator, area_manager, viewer, ombudsperson or supervisor"
        )
    })
}

/// `valvo user deactivate | reactivate | set-role` (add and list are in main).
pub(crate) async fn user(store: &Store, command: UserCommand) -> Result<(), String> {
    let cli = Principal::system("cli");
    match command {
        UserCommand::Deactivate { email } => set_active(store, &cli, &email, false).await,
        UserCommand::Reactivate { email } => set_active(store, &cli, &email, true).await,
        UserCommand::SetRole { email, role, scope } => {
            let user = user_of(store, &email).await?;
            let role = role_of(&role)?;
            let scope = find_scope(store, scope.as_deref()).await?;
            let after = store
                .set_role(&cli, user.id, role, scope)
                .await
                .map_err(describe)?;
            println!(
                "{}: {} {}",
                after.email,
                after.role.code(),
                after
                    .scope
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into())
            );
            Ok(())
        }
        UserCommand::Add { .. } | UserCommand::List => Ok(()),
    }
}

async fn set_active(
    store: &Store,
    cli: &Principal,
    email: &str,
    active: bool,
) -> Result<(), String> {
    let user = user_of(store, email).await?;
    let changed = store
        .set_active(cli, user.id, active)
        .await
        .map_err(describe)?;
    let state = if active { "active" } else { "deactivated" };
    if changed {
        println!("{}: {state}", user.email);
    } else {
        println!("{}: already {state}", user.email);
    }
    Ok(())
}

/// `valvo token create | list | revoke`.
pub(crate) async fn token(store: &Store, command: TokenCommand) -> Result<(), String> {
    let cli = Principal::system("cli");
    match command {
        TokenCommand::Create {
            email,
            label,
            expires_in_days,
            read_only,
            scope,
        } => {
            let user = user_of(store, &email).await?;
            let spec = TokenSpec {
                label,
                expires_in_days,
                read_only,
                scope: find_scope(store, scope.as_deref()).await?,
            };
            let (_, secret) = store
                .create_token_with(&cli, user.id, &spec)
                .await
                .map_err(describe)?;
            println!("{secret}");
            Ok(())
        }
        TokenCommand::List { email } => {
            let user = match email {
                Some(e) => Some(user_of(store, &e).await?.id),
                None => None,
            };
            let now = valvo_store::now_rfc3339();
            for t in store.tokens(&cli, user).await.map_err(describe)? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else if t.live(&now) {
                    "live"
                } else {
                    "expired"
                };
                let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
                println!(
                    "{}\t{}\t{}\t{state}\t{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.email,
                    t.label,
                    t.created_at,
                    or_dash(&t.expires_at),
                    or_dash(&t.last_used_at),
                    if t.read_only {
                        "read-only"
                    } else {
                        "read-write"
                    },
                    t.scope.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
                );
            }
            Ok(())
        }
        TokenCommand::Revoke { id } => {
            if store.revoke_token(&cli, id).await.map_err(describe)? {
                println!("token {id} revoked");
            } else {
                println!("token {id} was already revoked");
            }
            Ok(())
        }
    }
}
