//! Sign-in through the county's identity provider (OpenID Connect): the
//! authorization code flow with PKCE (S256), `state` and `nonce`.
//!
//! `GET /login/sso` remembers a new state, nonce and PKCE verifier in the
//! database (the provider may send the browser back to another instance)
//! and in a cookie of this browser (the state), and sends the browser to the
//! provider. `GET /login/sso/callback` takes that sign-in once, exchanges the
//! code with the verifier, checks the ID token's signature against the
//! provider's keys (fetched again once when a key id is unknown: the
//! provider rotated its keys), its issuer, audience, expiry and nonce, and
//! signs the person in as the account [`valvo_store::Store::sso_account`]
//! finds or makes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdTokenFields, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, SignatureVerificationError, StandardErrorResponse, StandardTokenResponse,
    TokenResponse,
};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use valvo_core::sso::Mapping;
use valvo_store::{SsoGrant, SsoIdentity, SsoOutcome};

use crate::ctx::{cookie, set_cookie, Page, UiQuery, SESSION_COOKIE};
use crate::ui::UiResult;
use crate::ui::{login_page_with, safe_next};
use crate::AppState;

/// The cookie holding the state of this browser's sign-in under way.
const STATE_COOKIE: &str = "valvo_sso";

/// How long the provider's keys and endpoints are trusted before they are
/// fetched again (also at once when an ID token names an unknown key).
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

/// The identity provider's settings.
#[derive(Clone, Debug)]
pub struct OidcSettings {
    /// The issuer (`https://login.microsoftonline.com/TENANT/v2.0`,
    /// `https://keycloak.example.fi/realms/county`); its discovery document
    /// is at `/.well-known/openid-configuration` under it.
    pub issuer: String,
    /// The client id Valvo is registered with.
    pub client_id: String,
    /// The client secret (a confidential client), if any.
    pub client_secret: Option<String>,
    /// Scopes asked for besides `openid` (default `email profile`).
    pub scopes: Vec<String>,
    /// Groups to roles.
    pub mapping: Mapping,
    /// The redirect URI: the service's public address and `/login/sso/callback`.
    pub redirect_uri: String,
}

impl OidcSettings {
    /// Whether the issuer and the redirect URI are URLs.
    pub fn check(&self) -> Result<(), String> {
        IssuerUrl::new(self.issuer.clone()).map_err(|e| format!("OIDC issuer: {e}"))?;
        RedirectUrl::new(self.redirect_uri.clone())
            .map_err(|e| format!("OIDC redirect URI: {e}"))?;
        if self.client_id.trim().is_empty() {
            return Err("OIDC client id is empty".to_string());
        }
        Ok(())
    }
}

/// The claims of an ID token besides the standard ones (the groups claim
/// among them, whatever its name).
#[derive(Clone, Debug, Deserialize, Serialize)]
struct Extra {
    #[serde(flatten)]
    other: HashMap<String, serde_json::Value>,
}
impl AdditionalClaims for Extra {}

type Fields = IdTokenFields<
    Extra,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<Fields, CoreTokenType>;
type OidcClient = openidconnect::Client<
    Extra,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The provider as this process knows it.
#[derive(Debug)]
pub(crate) struct Oidc {
    settings: OidcSettings,
    http: openidconnect::reqwest::Client,
    known: RwLock<Option<(Arc<OidcClient>, Instant)>>,
}

/// Why a sign-in did not succeed: the audit log's reason and the message
/// key the person is shown.
struct Refused(&'static str, &'static str);

impl Oidc {
    /// The provider of `settings` (nothing is fetched until the first sign-in,
    /// so Valvo starts while the provider is down).
    pub(crate) fn new(settings: OidcSettings) -> Result<Self, String> {
        settings.check()?;
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects would open the way to SSRF.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Oidc {
            settings,
            http,
            known: RwLock::new(None),
        })
    }

    /// The client from the provider's discovery document; fetched again
    /// when older than [`DISCOVERY_TTL`] or when `refresh`.
    async fn client(&self, refresh: bool) -> Result<Arc<OidcClient>, String> {
        if !refresh {
            if let Some((c, at)) = self.known.read().await.as_ref() {
                if at.elapsed() < DISCOVERY_TTL {
                    return Ok(c.clone());
                }
            }
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone()).map_err(|e| e.to_string())?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| format!("discovery: {e}"))?;
        let redirect =
            RedirectUrl::new(self.settings.redirect_uri.clone()).map_err(|e| e.to_string())?;
        let client = OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            self.settings.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect);
        let client = Arc::new(client);
        *self.known.write().await = Some((client.clone(), Instant::now()));
        Ok(client)
    }
}

/// Where the sign-in through the provider starts, returning to `next`.
pub(crate) fn start_path(next: &str) -> String {
    format!("/login/sso?next={}", crate::html::url_encode(next))
}

#[derive(Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

/// `GET /login/sso?next=`: off to the county's sign-in service.
pub async fn start(
    State(state): State<AppState>,
    page: Page,
    UiQuery(q): UiQuery<StartQuery>,
) -> UiResult {
    let Some(oidc) = state.oidc() else {
        return Err(page.error(crate::error::ErrorKind::NotFound));
    };
    let next = safe_next(q.next.as_deref());
    let client = match oidc.client(false).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "identity provider unreachable");
            return Ok(login_page_with(
                &state,
                &page,
                next,
                String::new(),
                false,
                Some("login-sso-unreachable"),
            ));
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for scope in &oidc.settings.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, csrf, nonce) = request.set_pkce_challenge(challenge).url();
    state
        .store()
        .begin_sso(csrf.secret(), nonce.secret(), verifier.secret(), &next)
        .await
        .map_err(|e| page.error(e))?;
    let mut resp = Redirect::to(url.as_str()).into_response();
    let minutes = valvo_store::SSO_LOGIN_MINUTES * 60;
    let c = set_cookie(
        STATE_COOKIE,
        csrf.secret(),
        Some(minutes),
        state.config().cookie_secure,
    );
    if let Ok(v) = c.parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

/// `GET /login/sso/callback`: back from the county's sign-in service.
pub async fn callback(
    State(state): State<AppState>,
    page: Page,
    headers: HeaderMap,
    UiQuery(q): UiQuery<CallbackQuery>,
) -> UiResult {
    let Some(oidc) = state.oidc() else {
        return Err(page.error(crate::error::ErrorKind::NotFound));
    };
    let secure = state.config().cookie_secure;
    let clear_state = set_cookie(STATE_COOKIE, "", Some(0), secure);
    let outcome = finish(&state, oidc, &headers, &q).await;
    let mut resp = match outcome {
        Ok((user, next)) => {
            let secret = state
                .store()
                .create_session(user.id)
                .await
                .map_err(|e| page.error(e))?;
            state
                .store()
                .record_sign_in(&user, "sso", page.lang)
                .await
                .map_err(|e| page.error(e))?;
            let mut resp = Redirect::to(&next).into_response();
            if let Ok(v) = set_cookie(SESSION_COOKIE, &secret, None, secure).parse() {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Err((Refused(reason, key), tried)) => {
            tracing::info!(reason, "sign-in through the identity provider refused");
            if let Err(e) = state
                .store()
                .record_failed_sign_in(&tried, "sso", reason)
                .await
            {
                tracing::warn!(error = %e, "could not record a failed sign-in");
            }
            login_page_with(
                &state,
                &page,
                "/".to_string(),
                String::new(),
                false,
                Some(key),
            )
        }
    };
    if let Ok(v) = clear_state.parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// The account signed in and where to go; or why not, and who was tried.
async fn finish(
    state: &AppState,
    oidc: &Oidc,
    headers: &HeaderMap,
    q: &CallbackQuery,
) -> Result<(valvo_store::User, String), (Refused, String)> {
    let anon = |r| (r, String::new());
    if let Some(error) = &q.error {
        tracing::info!(error = %error, "the identity provider answered with an error");
        return Err(anon(Refused("provider_error", "login-sso-cancelled")));
    }
    let (Some(code), Some(returned)) = (q.code.as_deref(), q.state.as_deref()) else {
        return Err(anon(Refused("malformed", "login-sso-failed")));
    };
    // The state came back to the browser that started the sign-in.
    let ours = cookie(headers, STATE_COOKIE).unwrap_or("");
    if ours.is_empty() || !crate::ctx::constant_eq(ours.as_bytes(), returned.as_bytes()) {
        return Err(anon(Refused("state", "login-sso-expired")));
    }
    let taken = state.store().take_sso(returned).await;
    let Ok(Some((nonce, verifier, next))) = taken else {
        if let Err(e) = taken {
            tracing::warn!(error = %e, "sign-in state unreadable");
        }
        return Err(anon(Refused("state", "login-sso-expired")));
    };
    // RFC 9207: a provider that names itself must name the one we asked.
    if q.iss
        .as_deref()
        .is_some_and(|iss| iss != oidc.settings.issuer)
    {
        return Err(anon(Refused("issuer", "login-sso-failed")));
    }
    let client = oidc.client(false).await.map_err(|e| {
        tracing::warn!(error = %e, "identity provider unreachable");
        anon(Refused("unreachable", "login-sso-unreachable"))
    })?;
    let request = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| {
            tracing::warn!(error = %e, "identity provider has no token endpoint");
            anon(Refused("configuration", "login-sso-failed"))
        })?;
    let tokens = request
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&oidc.http)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "code exchange failed");
            anon(Refused("code_exchange", "login-sso-failed"))
        })?;
    let Some(id_token) = tokens.id_token() else {
        return Err(anon(Refused("no_id_token", "login-sso-failed")));
    };
    let nonce = Nonce::new(nonce);
    let first = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .cloned();
    let (client, claims) = match first {
        Ok(c) => (client, c),
        // A key id we do not know: the provider has rotated its keys.
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => {
            let fresh = oidc.client(true).await.map_err(|e| {
                tracing::warn!(error = %e, "identity provider unreachable");
                anon(Refused("unreachable", "login-sso-unreachable"))
            })?;
            let claims = id_token
                .claims(&fresh.id_token_verifier(), &nonce)
                .cloned()
                .map_err(|e| {
                    tracing::warn!(error = %e, "ID token refused");
                    anon(Refused("id_token", "login-sso-failed"))
                })?;
            (fresh, claims)
        }
        Err(e) => {
            tracing::warn!(error = %e, "ID token refused");
            return Err(anon(Refused("id_token", "login-sso-failed")));
        }
    };
    // The access token is the one the ID token was issued with.
    if let Some(expected) = claims.access_token_hash() {
        let verifier = client.id_token_verifier();
        let actual = id_token
            .signing_alg()
            .ok()
            .zip(id_token.signing_key(&verifier).ok())
            .and_then(|(alg, key)| {
                AccessTokenHash::from_token(tokens.access_token(), alg, key).ok()
            });
        if actual.as_ref() != Some(expected) {
            return Err(anon(Refused("at_hash", "login-sso-failed")));
        }
    }
    let mapping = &oidc.settings.mapping;
    let verified_email = claims
        .email()
        .filter(|_| valvo_core::sso::email_verified(claims.email_verified(), mapping))
        .map(|e| e.as_str().to_string());
    let email_trusted = verified_email.is_some() && claims.email_verified().is_none();
    let tried = claims
        .email()
        .map(|e| e.as_str().to_string())
        .unwrap_or_else(|| claims.subject().as_str().to_string());
    let who = SsoIdentity {
        issuer: claims.issuer().as_str().to_string(),
        subject: claims.subject().as_str().to_string(),
        verified_email,
        email_trusted,
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string()),
    };
    let groups = valvo_core::sso::groups_of(claims.additional_claims().other.get(&mapping.claim));
    let role = match mapping.decide(&groups) {
        None => None,
        Some(rule) => match &rule.scope {
            None => Some((rule.role, None)),
            Some(code) => match state.store().org_tree().await {
                Ok(tree) => match tree.walk().into_iter().find(|(_, n)| &n.code == code) {
                    Some((_, n)) => Some((rule.role, Some(n.id))),
                    None => {
                        tracing::warn!(code = %code, "the sign-in mapping names an unknown unit");
                        None
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "org tree unreadable");
                    return Err((Refused("database", "login-sso-failed"), tried));
                }
            },
        },
    };
    let grant = SsoGrant {
        role,
        create_users: mapping.create_users,
        update_roles: mapping.update_roles,
    };
    match state.store().sso_account(&who, &grant).await {
        Ok(SsoOutcome::SignedIn(user, created)) => {
            if created {
                tracing::info!(user = user.id, "account made at the first sign-in");
            }
            Ok((user, next))
        }
        Ok(SsoOutcome::Inactive) => Err((Refused("inactive", "login-sso-inactive"), tried)),
        Ok(SsoOutcome::NoAccount) => Err((Refused("no_account", "login-sso-no-account"), tried)),
        Ok(SsoOutcome::LinkedElsewhere) => {
            Err((Refused("linked_elsewhere", "login-sso-no-account"), tried))
        }
        Ok(SsoOutcome::Unverified) => {
            Err((Refused("unverified_email", "login-sso-no-account"), tried))
        }
        Err(e) => {
            tracing::warn!(error = %e, "sign-in account lookup failed");
            Err((Refused("database", "login-sso-failed"), tried))
        }
    }
}
