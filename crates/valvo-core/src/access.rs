//! Who may read and write what: roles, scopes and the access policy.
//!
//! Every user has a role and, optionally, a scope: the root of the org subtree
//! the user works in. The policy is pure: callers pass the org tree.

use serde::{Deserialize, Serialize};

use crate::org::OrgTree;

/// A user's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages users and reads the audit log; reads and writes everything in scope.
    Admin,
    /// Quality coordinator: reads and writes the whole county (its scope).
    QualityCoordinator,
    /// Area manager: reads and writes one org subtree; needs a scope.
    AreaManager,
    /// Reads (its scope, or everything without one), writes nothing.
    Viewer,
    /// Patient and social ombudsperson: records contacts (its scope, or the
    /// whole county) and reads their statistics; writes no plan data.
    Ombudsperson,
    /// Supervisor of the organiser: records supervision visits (its scope,
    /// or everything) and follows their corrections; writes no plan data.
    Supervisor,
    /// National follow-up (THL, the ministry): reads the statistics of every
    /// county (its scope, or all of them) and the fair comparison, and
    /// nothing else: no plan, no report drafts, no incident reports,
    /// feedback cases, answers or free text; writes nothing.
    National,
}

impl Role {
    /// All roles, most powerful first.
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::QualityCoordinator,
        Role::AreaManager,
        Role::Viewer,
        Role::Ombudsperson,
        Role::Supervisor,
        Role::National,
    ];

    /// Stable machine code.
    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::QualityCoordinator => "quality_coordinator",
            Role::AreaManager => "area_manager",
            Role::Viewer => "viewer",
            Role::Ombudsperson => "ombudsperson",
            Role::Supervisor => "supervisor",
            Role::National => "national",
        }
    }

    /// Parses a machine code (also accepts `coordinator` and `manager`).
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "admin" | "administrator" => Some(Role::Admin),
            "quality_coordinator" | "coordinator" => Some(Role::QualityCoordinator),
            "area_manager" | "manager" => Some(Role::AreaManager),
            "viewer" => Some(Role::Viewer),
            "ombudsperson" | "ombudsman" => Some(Role::Ombudsperson),
            "supervisor" => Some(Role::Supervisor),
            "national" => Some(Role::National),
            _ => None,
        }
    }

    /// Whether the role must be given a scope.
    pub fn needs_scope(self) -> bool {
        matches!(self, Role::AreaManager)
    }

    /// Whether the role may write plan data at all.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Role::Admin | Role::QualityCoordinator | Role::AreaManager
        )
    }
}

/// The one acting: a user (or the system, for the demo loader and imports).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The user's id; `None` for the system itself.
    pub user_id: Option<i64>,
    /// What the audit log shows as actor (the e-mail address, or `system`).
    pub label: String,
    /// Role.
    pub role: Role,
    /// Root of the org subtree the principal is limited to; `None` = everything.
    pub scope: Option<i64>,
}

impl Principal {
    /// The system principal: unlimited, used by loaders run from the command line.
    pub fn system(label: &str) -> Self {
        Principal {
            user_id: None,
            label: label.to_string(),
            role: Role::Admin,
            scope: None,
        }
    }

    fn in_scope(&self, tree: &OrgTree, org: i64) -> bool {
        match self.scope {
            None => !self.role.needs_scope() && tree.get(org).is_some(),
            Some(root) => tree.is_in_subtree(org, root),
        }
    }

    /// May read the non-public data of this org node (never the national
    /// role: it reads statistics only, see [`Principal::can_read_statistics`]).
    pub fn can_read(&self, tree: &OrgTree, org: i64) -> bool {
        self.role != Role::National && self.in_scope(tree, org)
    }

    /// May read the statistics of this org node's subtree beyond what is
    /// public (any period, background filters, small cells): whoever reads
    /// the node, and the national role in its scope (every county without
    /// one). Statistics hold counts and means only: no case, answer or text.
    pub fn can_read_statistics(&self, tree: &OrgTree, org: i64) -> bool {
        self.can_read(tree, org) || (self.role == Role::National && self.in_scope(tree, org))
    }

    /// May create or change plan data of this org node.
    pub fn can_write(&self, tree: &OrgTree, org: i64) -> bool {
        self.role.writes() && self.in_scope(tree, org)
    }

    /// May read the audit log (an administrator with a scope reads only the
    /// entries of units in that scope, see [`Principal::can_read_audit_of`]).
    pub fn can_read_audit(&self) -> bool {
        self.role == Role::Admin
    }

    /// May read an audit entry about `org` (`None`: not about a unit, such as
    /// a user or the event-type taxonomy: only without a scope).
    pub fn can_read_audit_of(&self, tree: &OrgTree, org: Option<i64>) -> bool {
        self.can_read_audit()
            && match (self.scope, org) {
                (None, _) => true,
                (Some(root), Some(org)) => tree.is_in_subtree(org, root),
                (Some(_), None) => false,
            }
    }

    /// May see and name a user whose scope is `user_scope` (as an incident
    /// handler, in a list of users): without a scope anyone; with one, only
    /// users whose own scope lies inside it (never a county-wide user).
    pub fn may_see_user(&self, tree: &OrgTree, user_scope: Option<i64>) -> bool {
        if self.role == Role::National {
            return false;
        }
        match (self.scope, user_scope) {
            (None, _) => true,
            (Some(root), Some(s)) => tree.is_in_subtree(s, root),
            (Some(_), None) => false,
        }
    }

    /// May record ombudsperson contacts about units of `org`'s subtree (and
    /// read them): the ombudsperson, and an administrator (for imports).
    pub fn can_record_contacts(&self, tree: &OrgTree, org: i64) -> bool {
        matches!(self.role, Role::Ombudsperson | Role::Admin) && self.in_scope(tree, org)
    }

    /// May record supervision visits to `org` and change their corrections:
    /// supervisors, quality coordinators and administrators in scope.
    pub fn can_supervise(&self, tree: &OrgTree, org: i64) -> bool {
        matches!(
            self.role,
            Role::Supervisor | Role::QualityCoordinator | Role::Admin
        ) && self.in_scope(tree, org)
    }

    /// May manage users and the org tree.
    pub fn can_administer(&self) -> bool {
        self.role == Role::Admin && self.scope.is_none()
    }

    /// May add and change the entries of a county's lists (incident event
    /// types, ombudsperson reasons, supervision topics) that belong to
    /// `county` (a root of the tree), or with `None` the entries every
    /// county shares: administrators and quality coordinators, without a
    /// scope anything, scoped to a county its own entries only. In a
    /// service of one county, that county's people also keep the shared
    /// list (it is theirs alone).
    pub fn may_configure_lists(&self, tree: &OrgTree, county: Option<i64>) -> bool {
        if !matches!(self.role, Role::Admin | Role::QualityCoordinator) {
            return false;
        }
        let is_root = |id: i64| tree.get(id).is_some_and(|n| n.parent_id.is_none());
        match (self.scope, county) {
            (None, None) => true,
            (None, Some(c)) => is_root(c),
            (Some(s), Some(c)) => s == c && is_root(c),
            (Some(s), None) => {
                let roots = tree.roots();
                roots.len() == 1 && roots[0].id == s
            }
        }
    }

    /// The county whose own list entries this principal adds by default:
    /// the county it is scoped to, if its scope is a whole county.
    pub fn own_county(&self, tree: &OrgTree) -> Option<i64> {
        self.scope
            .filter(|s| tree.get(*s).is_some_and(|n| n.parent_id.is_none()))
    }
}

/// Whether a list entry belonging to `owner` (`None`: shared by every
/// county) is offered in `county` (`None`: no county given, every entry).
pub fn offered_in(owner: Option<&str>, county: Option<&str>) -> bool {
    match (owner, county) {
        (None, _) | (_, None) => true,
        (Some(o), Some(c)) => o == c,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::org::{OrgNode, ProducerType};
    use crate::text::I18nText;

    fn node(id: i64, parent: Option<i64>) -> OrgNode {
        OrgNode {
            id,
            parent_id: parent,
            code: format!("n{id}"),
            name: I18nText::default(),
            producer: ProducerType::Own,
            sort_order: 0,
            service_type: None,
        }
    }

    fn tree() -> OrgTree {
        // 1 county; 2 and 3 areas; 4 unit under 2; 5 unit under 3
        OrgTree::new(vec![
            node(1, None),
            node(2, Some(1)),
            node(3, Some(1)),
            node(4, Some(2)),
            node(5, Some(3)),
        ])
        .unwrap()
    }

    fn p(role: Role, scope: Option<i64>) -> Principal {
        Principal {
            user_id: Some(9),
            label: "u".into(),
            role,
            scope,
        }
    }

    #[test]
    fn the_national_role_reads_statistics_only() {
        let t = tree();
        let national = p(Role::National, None);
        for org in 1..=5 {
            assert!(national.can_read_statistics(&t, org), "{org}");
            assert!(!national.can_read(&t, org) && !national.can_write(&t, org));
            assert!(!national.can_record_contacts(&t, org) && !national.can_supervise(&t, org));
        }
        assert!(!national.can_read_statistics(&t, 99));
        assert!(!national.may_see_user(&t, Some(4)) && !national.may_see_user(&t, None));
        assert!(!national.can_read_audit() && !national.can_administer());
        let regional = p(Role::National, Some(2));
        assert!(regional.can_read_statistics(&t, 4) && !regional.can_read_statistics(&t, 5));
        // Everyone else reads statistics exactly where they read.
        for role in Role::ALL.into_iter().filter(|r| *r != Role::National) {
            for scope in [None, Some(2)] {
                let who = p(role, scope);
                for org in 1..=5 {
                    assert_eq!(who.can_read_statistics(&t, org), who.can_read(&t, org));
                }
            }
        }
    }

    #[test]
    fn scoped_actors_see_only_their_users_and_audit_entries() {
        let t = tree();
        let area = p(Role::Admin, Some(2));
        assert!(area.may_see_user(&t, Some(4)) && area.may_see_user(&t, Some(2)));
        assert!(!area.may_see_user(&t, Some(3)) && !area.may_see_user(&t, Some(5)));
        assert!(
            !area.may_see_user(&t, None),
            "a county-wide user is outside an area"
        );
        let county = p(Role::QualityCoordinator, None);
        assert!(county.may_see_user(&t, None) && county.may_see_user(&t, Some(5)));
        assert!(area.can_read_audit_of(&t, Some(4)));
        assert!(!area.can_read_audit_of(&t, Some(5)) && !area.can_read_audit_of(&t, None));
        let admin = p(Role::Admin, None);
        assert!(admin.can_read_audit_of(&t, None) && admin.can_read_audit_of(&t, Some(5)));
        assert!(
            !county.can_read_audit_of(&t, Some(4)),
            "only administrators read the log"
        );
    }

    #[test]
    fn matrix() {
        let t = tree();
        // (principal, node, read, write)
        let cases = [
            (p(Role::Admin, None), 5, true, true),
            (p(Role::QualityCoordinator, None), 4, true, true),
            (p(Role::QualityCoordinator, Some(1)), 5, true, true),
            (p(Role::AreaManager, Some(2)), 2, true, true),
            (p(Role::AreaManager, Some(2)), 4, true, true),
            (p(Role::AreaManager, Some(2)), 1, false, false),
            (p(Role::AreaManager, Some(2)), 3, false, false),
            (p(Role::AreaManager, Some(2)), 5, false, false),
            (p(Role::AreaManager, None), 4, false, false),
            (p(Role::Viewer, None), 5, true, false),
            (p(Role::Viewer, Some(3)), 5, true, false),
            (p(Role::Viewer, Some(3)), 4, false, false),
            (p(Role::Admin, None), 99, false, false),
        ];
        for (pr, org, r, w) in cases {
            assert_eq!(pr.can_read(&t, org), r, "{pr:?} read {org}");
            assert_eq!(pr.can_write(&t, org), w, "{pr:?} write {org}");
        }
    }

    #[test]
    fn ombudspersons_record_contacts_and_supervisors_visits_but_neither_writes_plans() {
        let t = tree();
        // (principal, node, plan write, record contacts, supervise)
        let cases = [
            (p(Role::Ombudsperson, None), 5, false, true, false),
            (p(Role::Ombudsperson, Some(2)), 4, false, true, false),
            (p(Role::Ombudsperson, Some(2)), 5, false, false, false),
            (p(Role::Supervisor, None), 5, false, false, true),
            (p(Role::Supervisor, Some(3)), 4, false, false, false),
            (p(Role::QualityCoordinator, None), 4, true, false, true),
            (p(Role::AreaManager, Some(2)), 4, true, false, false),
            (p(Role::Viewer, None), 4, false, false, false),
            (p(Role::Admin, None), 4, true, true, true),
        ];
        for (pr, org, w, c, s) in cases {
            assert_eq!(pr.can_write(&t, org), w, "{pr:?} write {org}");
            assert_eq!(pr.can_record_contacts(&t, org), c, "{pr:?} contacts {org}");
            assert_eq!(pr.can_supervise(&t, org), s, "{pr:?} supervise {org}");
            assert!(
                pr.can_read(&t, org) || pr.scope.is_some(),
                "{pr:?} reads {org}"
            );
        }
    }

    #[test]
    fn counties_keep_their_own_list_entries_and_one_county_keeps_the_shared_ones() {
        // Two counties: 1 (with 2..=5 below it) and 10 (with 11).
        let mut nodes: Vec<OrgNode> = (1..=5)
            .map(|i| {
                node(
                    i,
                    if i == 1 {
                        None
                    } else {
                        Some(if i > 3 { i - 2 } else { 1 })
                    },
                )
            })
            .collect();
        nodes.push(node(10, None));
        nodes.push(node(11, Some(10)));
        let two = OrgTree::new(nodes).unwrap();
        let one = tree();
        for role in Role::ALL {
            let configures = matches!(role, Role::Admin | Role::QualityCoordinator);
            let wide = p(role, None);
            let county = p(role, Some(1));
            let area = p(role, Some(2));
            for t in [&one, &two] {
                assert_eq!(wide.may_configure_lists(t, None), configures, "{role:?}");
                assert_eq!(wide.may_configure_lists(t, Some(1)), configures);
                assert_eq!(county.may_configure_lists(t, Some(1)), configures);
                // Not an area's, not below a county, not an unknown unit.
                assert!(!wide.may_configure_lists(t, Some(2)));
                assert!(!wide.may_configure_lists(t, Some(99)));
                assert!(
                    !area.may_configure_lists(t, Some(2)) && !area.may_configure_lists(t, None)
                );
            }
            // Another county's entries never; the shared ones only alone.
            assert!(!county.may_configure_lists(&two, Some(10)));
            assert!(!county.may_configure_lists(&two, None));
            assert_eq!(county.may_configure_lists(&one, None), configures);
            assert_eq!(county.own_county(&two), Some(1));
            assert_eq!(area.own_county(&two), None);
            assert_eq!(wide.own_county(&two), None);
        }
        assert!(offered_in(None, Some("a")) && offered_in(Some("a"), Some("a")));
        assert!(!offered_in(Some("b"), Some("a")) && offered_in(Some("b"), None));
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.code()), Some(r));
        }
        assert_eq!(Role::parse("nobody"), None);
        assert!(p(Role::Admin, None).can_read_audit());
        assert!(!p(Role::QualityCoordinator, None).can_read_audit());
    }
}
