//! Single sign-on: which Valvo role and scope a person signed in by the
//! county's identity provider gets, from the groups (or roles) the provider
//! says they belong to.
//!
//! The mapping is a small TOML file the county's IT writes:
//!
//! ```toml
//! # The claim of the ID token that lists the person's groups (Entra ID and
//! # Keycloak: "groups"; Keycloak realm roles: "roles").
//! claim = "groups"
//! # Make a Valvo account at the first sign-in of someone a rule matches.
//! create_users = true
//! # Set the role and scope of existing accounts from the rules at every
//! # sign-in, and sign in no one the rules give no role (else roles are
//! # changed in Valvo's user administration).
//! update_roles = false
//! # Take the e-mail address as verified when the provider does not say
//! # (Entra ID sends no email_verified; its addresses are the tenant's own).
//! # It never takes over an account that has a password; an address the
//! # provider calls unverified is never trusted.
//! trust_email = false
//!
//! # The first rule whose group the person has decides.
//! [[rule]]
//! group = "valvo-admins"
//! role = "admin"
//!
//! [[rule]]
//! group = "valvo-managers-vaasa"
//! role = "area_manager"
//! scope = "vaasa"          # an org unit's code
//! ```

use serde::Deserialize;

use crate::access::Role;

/// The mapping from groups to roles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The ID token's claim naming the groups.
    pub claim: String,
    /// Whether a matching person without an account gets one.
    pub create_users: bool,
    /// Whether existing accounts take their role and scope from the rules.
    pub update_roles: bool,
    /// Whether an e-mail address counts as verified when the provider says
    /// nothing of it (`email_verified` absent).
    pub trust_email: bool,
    /// Rules, first match wins.
    pub rules: Vec<Rule>,
}

/// One rule of the mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The group (a claim value) it matches, compared exactly.
    pub group: String,
    /// The role it gives.
    pub role: Role,
    /// The code of the org unit it limits the role to.
    pub scope: Option<String>,
}

impl Default for Mapping {
    /// Without a file: nobody is created, existing accounts keep their role.
    fn default() -> Self {
        Mapping {
            claim: "groups".to_string(),
            create_users: false,
            update_roles: false,
            trust_email: false,
            rules: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    claim: Option<String>,
    #[serde(default)]
    create_users: bool,
    #[serde(default)]
    update_roles: bool,
    #[serde(default)]
    trust_email: bool,
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    group: String,
    role: String,
    scope: Option<String>,
}

impl Mapping {
    /// Reads the mapping's TOML text; an error names the rule and field.
    pub fn parse(text: &str) -> Result<Mapping, String> {
        let raw: RawMapping = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut rules = Vec::with_capacity(raw.rule.len());
        for (i, r) in raw.rule.into_iter().enumerate() {
            let n = i + 1;
            let role = Role::parse(&r.role).ok_or_else(|| {
                format!(
                    "rule {n}: unknown role {:?} (admin, quality_coordinator, area_manager, viewer, ombudsperson or supervisor)",
                    r.role
                )
            })?;
            if r.group.trim().is_empty() {
                return Err(format!("rule {n}: group is empty"));
            }
            let scope = r
                .scope
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            if role.needs_scope() && scope.is_none() {
                return Err(format!("rule {n}: role {} needs a scope", role.code()));
            }
            rules.push(Rule {
                group: r.group,
                role,
                scope,
            });
        }
        let claim = raw.claim.unwrap_or_else(|| "groups".to_string());
        if claim.trim().is_empty() {
            return Err("claim is empty".to_string());
        }
        Ok(Mapping {
            claim,
            create_users: raw.create_users,
            update_roles: raw.update_roles,
            trust_email: raw.trust_email,
            rules,
        })
    }

    /// The first rule matching one of `groups`.
    pub fn decide<'a>(&'a self, groups: &[String]) -> Option<&'a Rule> {
        self.rules
            .iter()
            .find(|r| groups.iter().any(|g| g == &r.group))
    }
}

/// Whether an address counts as verified: the provider says so, or says
/// nothing and the mapping trusts its addresses.
pub fn email_verified(said: Option<bool>, mapping: &Mapping) -> bool {
    match said {
        Some(v) => v,
        None => mapping.trust_email,
    }
}

/// The groups a claim's JSON value names: a list of strings, or one string
/// (some providers send a single group as a plain string).
pub fn groups_of(value: Option<&serde_json::Value>) -> Vec<String> {
    match value {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn the_first_matching_rule_decides() {
        let m = Mapping::parse(
            r#"
            create_users = true
            [[rule]]
            group = "admins"
            role = "admin"
            [[rule]]
            group = "vaasa"
            role = "manager"
            scope = "vaasa"
            [[rule]]
            group = "staff"
            role = "viewer"
            "#,
        )
        .unwrap();
        assert_eq!(m.claim, "groups");
        assert!(m.create_users && !m.update_roles);
        let g = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            m.decide(&g(&["staff", "admins"])).unwrap().role,
            Role::Admin
        );
        let r = m.decide(&g(&["vaasa", "staff"])).unwrap();
        assert_eq!(
            (r.role, r.scope.as_deref()),
            (Role::AreaManager, Some("vaasa"))
        );
        assert_eq!(m.decide(&g(&["staff"])).unwrap().role, Role::Viewer);
        assert!(m.decide(&g(&["Staff", "other"])).is_none());
        assert!(m.decide(&[]).is_none());
    }

    #[test]
    fn errors_name_the_rule() {
        let e = Mapping::parse("[[rule]]\ngroup = \"a\"\nrole = \"boss\"\n").unwrap_err();
        assert!(e.contains("rule 1") && e.contains("boss"), "{e}");
        let e = Mapping::parse(
            "[[rule]]\ngroup = \"a\"\nrole = \"viewer\"\n[[rule]]\ngroup = \"b\"\nrole = \"area_manager\"\n",
        )
        .unwrap_err();
        assert!(e.contains("rule 2") && e.contains("scope"), "{e}");
        let e = Mapping::parse("claims = \"groups\"\n").unwrap_err();
        assert!(e.contains("claims"), "{e}");
        assert!(Mapping::parse("").unwrap().rules.is_empty());
    }

    #[test]
    fn an_address_is_verified_when_the_provider_says_so_or_the_mapping_trusts_it() {
        let strict = Mapping::default();
        let trusting = Mapping::parse("trust_email = true").unwrap();
        assert!(email_verified(Some(true), &strict));
        assert!(!email_verified(None, &strict));
        assert!(email_verified(None, &trusting));
        assert!(
            !email_verified(Some(false), &trusting),
            "never one called unverified"
        );
    }

    #[test]
    fn groups_are_a_list_or_one_string() {
        let v = serde_json::json!(["a", 1, "b"]);
        assert_eq!(groups_of(Some(&v)), vec!["a", "b"]);
        assert_eq!(groups_of(Some(&serde_json::json!("x"))), vec!["x"]);
        assert!(groups_of(Some(&serde_json::json!({"a": 1}))).is_empty());
        assert!(groups_of(None).is_empty());
    }
}
