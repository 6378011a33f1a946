//! The organisation tree (wellbeing services county → division → unit …).
//!
//! All traversals are iterative, so trees of any depth are fine.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::text::I18nText;

/// Who produces the service of an organisation unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProducerType {
    /// Own production.
    Own,
    /// Purchased service.
    Purchased,
    /// Service voucher (palveluseteli / servicesedel).
    ServiceVoucher,
    /// Private service producer.
    Private,
}

impl ProducerType {
    /// All producer types.
    pub const ALL: [ProducerType; 4] = [
        ProducerType::Own,
        ProducerType::Purchased,
        ProducerType::ServiceVoucher,
        ProducerType::Private,
    ];

    /// Stable code: `"own"`, `"purchased"`, `"service_voucher"`, `"private"`.
    pub fn code(self) -> &'static str {
        match self {
            ProducerType::Own => "own",
            ProducerType::Purchased => "purchased",
            ProducerType::ServiceVoucher => "service_voucher",
            ProducerType::Private => "private",
        }
    }

    /// Parses a [`code`](ProducerType::code) (case-insensitive, trimmed).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|p| s.eq_ignore_ascii_case(p.code()))
    }
}

/// The kind of service a unit gives, from one national list shared by every
/// county, so that the same services can be compared across counties (THL's
/// customer feedback model: health stations, oral health, home care …). A
/// unit without one of its own gives the service of the nearest unit above
/// it that has one ([`OrgTree::service_type_of`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceType {
    /// Health stations (terveysasemat, hälsostationer).
    HealthStation,
    /// Oral health care (suun terveydenhuolto, munhälsovård).
    OralHealth,
    /// Maternity and child health clinics (neuvolat, rådgivningar).
    MaternityChild,
    /// Emergency services (päivystys, jour).
    Emergency,
    /// Hospital services (sairaalapalvelut, sjukhustjänster).
    Hospital,
    /// Mental health and substance abuse services.
    MentalHealth,
    /// Rehabilitation (kuntoutus, rehabilitering).
    Rehabilitation,
    /// Home care (kotihoito, hemvård).
    HomeCare,
    /// Housing services (asumispalvelut, boendeservice).
    Housing,
    /// Disability services (vammaispalvelut, handikappservice).
    Disability,
    /// Social work and guidance (sosiaalityö ja -ohjaus).
    SocialWork,
}

impl ServiceType {
    /// Every service type, in the order lists show them.
    pub const ALL: [ServiceType; 11] = [
        ServiceType::HealthStation,
        ServiceType::OralHealth,
        ServiceType::MaternityChild,
        ServiceType::Emergency,
        ServiceType::Hospital,
        ServiceType::MentalHealth,
        ServiceType::Rehabilitation,
        ServiceType::HomeCare,
        ServiceType::Housing,
        ServiceType::Disability,
        ServiceType::SocialWork,
    ];

    /// Stable code, e.g. `"health_station"` (its text is `service-type-CODE`).
    pub fn code(self) -> &'static str {
        match self {
            ServiceType::HealthStation => "health_station",
            ServiceType::OralHealth => "oral_health",
            ServiceType::MaternityChild => "maternity_child",
            ServiceType::Emergency => "emergency",
            ServiceType::Hospital => "hospital",
            ServiceType::MentalHealth => "mental_health",
            ServiceType::Rehabilitation => "rehabilitation",
            ServiceType::HomeCare => "home_care",
            ServiceType::Housing => "housing",
            ServiceType::Disability => "disability",
            ServiceType::SocialWork => "social_work",
        }
    }

    /// Parses a [`code`](ServiceType::code) (case-insensitive, trimmed).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|t| s.eq_ignore_ascii_case(t.code()))
    }
}

/// One unit of the organisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrgNode {
    /// Database id.
    pub id: i64,
    /// Parent unit; `None` for a root.
    pub parent_id: Option<i64>,
    /// Short code, e.g. a cost-centre code.
    pub code: String,
    /// Name in up to three languages.
    pub name: I18nText,
    /// Who produces the service.
    pub producer: ProducerType,
    /// Position among siblings (ties broken by id).
    pub sort_order: i32,
    /// The kind of service, when set on this unit itself (see
    /// [`OrgTree::service_type_of`] for what it gives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<ServiceType>,
}

/// Why an [`OrgTree`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    /// Two nodes share an id.
    #[error("duplicate organisation node id {0}")]
    DuplicateId(i64),
    /// A node refers to a parent that does not exist.
    #[error("organisation node {id} has unknown parent {parent}")]
    UnknownParent {
        /// The node.
        id: i64,
        /// The missing parent id.
        parent: i64,
    },
    /// The parent links form a cycle through this node.
    #[error("cycle in organisation tree at node {0}")]
    Cycle(i64),
}

/// A validated forest of [`OrgNode`]s.
#[derive(Clone, Debug, Default)]
pub struct OrgTree {
    nodes: Vec<OrgNode>,
    by_id: HashMap<i64, usize>,
    /// Child indices per node index, sorted by (sort_order, id).
    children: Vec<Vec<usize>>,
    /// Root indices, sorted by (sort_order, id).
    roots: Vec<usize>,
    /// Depth per node index (roots 0).
    depth: Vec<usize>,
    /// Parent index per node index.
    parent: Vec<Option<usize>>,
}

impl OrgTree {
    /// Builds the tree, checking for duplicate ids, unknown parents and
    /// cycles (in that order).
    pub fn new(nodes: Vec<OrgNode>) -> Result<OrgTree, OrgError> {
        let mut by_id = HashMap::with_capacity(nodes.len());
        for (i, n) in nodes.iter().enumerate() {
            if by_id.insert(n.id, i).is_some() {
                return Err(OrgError::DuplicateId(n.id));
            }
        }
        let mut parent = Vec::with_capacity(nodes.len());
        for n in &nodes {
            match n.parent_id {
                None => parent.push(None),
                Some(p) => match by_id.get(&p) {
                    Some(&pi) => parent.push(Some(pi)),
                    None => {
                        return Err(OrgError::UnknownParent {
                            id: n.id,
                            parent: p,
                        })
                    }
                },
            }
        }
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
        let mut roots = Vec::new();
        for (i, p) in parent.iter().enumerate() {
            match p {
                Some(pi) => children[*pi].push(i),
                None => roots.push(i),
            }
        }
        let key = |i: &usize| (nodes[*i].sort_order, nodes[*i].id);
        roots.sort_by_key(key);
        for c in &mut children {
            c.sort_by_key(key);
        }
        // Breadth-first from the roots; nodes not reached lie on or below a cycle.
        let mut depth = vec![usize::MAX; nodes.len()];
        let mut queue = std::collections::VecDeque::new();
        for &r in &roots {
            depth[r] = 0;
            queue.push_back(r);
        }
        while let Some(i) = queue.pop_front() {
            for &c in &children[i] {
                depth[c] = depth[i] + 1;
                queue.push_back(c);
            }
        }
        if let Some(start) = depth.iter().position(|d| *d == usize::MAX) {
            // Follow parent links until a node repeats: that node is on the cycle.
            let mut seen = vec![false; nodes.len()];
            let mut i = start;
            while !seen[i] {
                seen[i] = true;
                match parent[i] {
                    Some(pi) => i = pi,
                    None => break,
                }
            }
            return Err(OrgError::Cycle(nodes[i].id));
        }
        Ok(OrgTree {
            nodes,
            by_id,
            children,
            roots,
            depth,
            parent,
        })
    }

    fn idx(&self, id: i64) -> Option<usize> {
        self.by_id.get(&id).copied()
    }

    /// The node with `id`.
    pub fn get(&self, id: i64) -> Option<&OrgNode> {
        self.idx(id).map(|i| &self.nodes[i])
    }

    /// True when a node with `id` exists.
    pub fn contains(&self, id: i64) -> bool {
        self.by_id.contains_key(&id)
    }

    /// All nodes in input order.
    pub fn nodes(&self) -> &[OrgNode] {
        &self.nodes
    }

    /// The root nodes, sorted by sort order then id.
    pub fn roots(&self) -> Vec<&OrgNode> {
        self.roots.iter().map(|&i| &self.nodes[i]).collect()
    }

    /// The direct children of `id`, sorted by sort order then id (empty for
    /// an unknown id).
    pub fn children(&self, id: i64) -> Vec<&OrgNode> {
        self.idx(id)
            .map(|i| self.children[i].iter().map(|&c| &self.nodes[c]).collect())
            .unwrap_or_default()
    }

    /// The parent of `id`, if any.
    pub fn parent(&self, id: i64) -> Option<&OrgNode> {
        let i = self.idx(id)?;
        self.parent[i].map(|p| &self.nodes[p])
    }

    /// The ancestors of `id`, root first, excluding the node itself.
    pub fn ancestors(&self, id: i64) -> Vec<&OrgNode> {
        let mut path = self.path(id);
        path.pop();
        path
    }

    /// The root above `id` (the county), or `id` itself when it is a root.
    pub fn root_of(&self, id: i64) -> Option<i64> {
        self.path(id).first().map(|n| n.id)
    }

    /// The code of the county (root) above `id`, or of `id` itself when it
    /// is a root; `None` for an unknown id.
    pub fn county_code(&self, id: i64) -> Option<&str> {
        let mut i = self.idx(id)?;
        while let Some(p) = self.parent[i] {
            i = p;
        }
        Some(self.nodes[i].code.as_str())
    }

    /// The path from the root to `id`, including the node itself (empty for
    /// an unknown id).
    pub fn path(&self, id: i64) -> Vec<&OrgNode> {
        let mut out = Vec::new();
        let mut cur = self.idx(id);
        while let Some(i) = cur {
            out.push(&self.nodes[i]);
            cur = self.parent[i];
        }
        out.reverse();
        out
    }

    /// True when `node` is `root` or lies below it. False if either is unknown.
    pub fn is_in_subtree(&self, node: i64, root: i64) -> bool {
        let Some(r) = self.idx(root) else {
            return false;
        };
        let mut cur = self.idx(node);
        while let Some(i) = cur {
            if i == r {
                return true;
            }
            cur = self.parent[i];
        }
        false
    }

    /// The ids of `root` and everything below it, in pre-order (empty for an
    /// unknown id).
    pub fn subtree_ids(&self, root: i64) -> Vec<i64> {
        match self.idx(root) {
            Some(r) => self
                .preorder(std::slice::from_ref(&r))
                .into_iter()
                .map(|i| self.nodes[i].id)
                .collect(),
            None => Vec::new(),
        }
    }

    /// The kind of service `id` gives: its own type, or else that of the
    /// nearest unit above it with one (`None`: none on its path).
    pub fn service_type_of(&self, id: i64) -> Option<ServiceType> {
        let mut cur = self.idx(id);
        while let Some(i) = cur {
            if let Some(t) = self.nodes[i].service_type {
                return Some(t);
            }
            cur = self.parent[i];
        }
        None
    }

    /// The subtrees whose counts, added and taken away, are the answers of
    /// every unit giving the service `t`, per county: `(county, unit, +1)`
    /// for each unit giving `t` whose parent does not (the top of such a
    /// part of the tree), `(county, unit, -1)` for each unit below one of
    /// those giving another service of its own. Counts kept per subtree
    /// (a unit and everything below it) summed with these signs count each
    /// answer of a unit giving `t` once and no other answer.
    pub fn service_type_parts(&self, t: ServiceType) -> Vec<(i64, i64, i8)> {
        let mut given = vec![None; self.nodes.len()];
        let mut out = Vec::new();
        let mut root = 0;
        for i in self.preorder(&self.roots) {
            let parent = self.parent[i].and_then(|p| given[p]);
            given[i] = self.nodes[i].service_type.or(parent);
            if self.parent[i].is_none() {
                root = self.nodes[i].id;
            }
            let (mine, above) = (given[i] == Some(t), parent == Some(t));
            if mine && !above {
                out.push((root, self.nodes[i].id, 1));
            } else if above && !mine {
                out.push((root, self.nodes[i].id, -1));
            }
        }
        out
    }

    /// The depth of `id` (roots 0).
    pub fn depth(&self, id: i64) -> Option<usize> {
        self.idx(id).map(|i| self.depth[i])
    }

    /// All nodes in pre-order (siblings sorted), with their depth.
    pub fn walk(&self) -> Vec<(usize, &OrgNode)> {
        self.preorder(&self.roots)
            .into_iter()
            .map(|i| (self.depth[i], &self.nodes[i]))
            .collect()
    }

    fn preorder(&self, starts: &[usize]) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack: Vec<usize> = starts.iter().rev().copied().collect();
        while let Some(i) = stack.pop() {
            out.push(i);
            stack.extend(self.children[i].iter().rev().copied());
        }
        out
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use proptest::prelude::*;

    fn node(id: i64, parent: Option<i64>, sort: i32) -> OrgNode {
        OrgNode {
            id,
            parent_id: parent,
            code: format!("C{id}"),
            name: I18nText::new(Some(format!("Yksikkö {id}")), None, None),
            producer: ProducerType::Own,
            sort_order: sort,
            service_type: None,
        }
    }

    fn ids(v: Vec<&OrgNode>) -> Vec<i64> {
        v.into_iter().map(|n| n.id).collect()
    }

    /// 1
    /// ├── 3 (sort 0)
    /// │   └── 5
    /// └── 2 (sort 1)
    ///     ├── 4 (sort 0)
    ///     └── 6 (sort 0)
    /// 10 (root, sort -1)
    fn sample() -> OrgTree {
        OrgTree::new(vec![
            node(1, None, 0),
            node(2, Some(1), 1),
            node(3, Some(1), 0),
            node(6, Some(2), 0),
            node(4, Some(2), 0),
            node(5, Some(3), 0),
            node(10, None, -1),
        ])
        .unwrap()
    }

    #[test]
    fn producer_codes() {
        let codes: Vec<&str> = ProducerType::ALL.iter().map(|p| p.code()).collect();
        assert_eq!(codes, ["own", "purchased", "service_voucher", "private"]);
        for p in ProducerType::ALL {
            assert_eq!(ProducerType::parse(p.code()), Some(p));
            assert_eq!(crate::test_ser::to_string(&p), p.code());
        }
        assert_eq!(
            ProducerType::parse("Service_Voucher"),
            Some(ProducerType::ServiceVoucher)
        );
        assert_eq!(ProducerType::parse("voucher"), None);
    }

    #[test]
    fn basic_queries() {
        let t = sample();
        assert_eq!(t.len(), 7);
        assert!(!t.is_empty());
        assert_eq!(t.get(4).unwrap().code, "C4");
        assert!(t.get(99).is_none());
        assert!(t.contains(5));
        assert_eq!(t.nodes().len(), 7);
        assert_eq!(ids(t.roots()), [10, 1]);
        assert_eq!(ids(t.children(1)), [3, 2]);
        assert_eq!(ids(t.children(2)), [4, 6]);
        assert!(t.children(5).is_empty());
        assert!(t.children(99).is_empty());
        assert_eq!(t.parent(4).unwrap().id, 2);
        assert!(t.parent(1).is_none());
        assert_eq!(ids(t.ancestors(6)), [1, 2]);
        assert!(t.ancestors(1).is_empty());
        assert!(t.ancestors(99).is_empty());
        assert_eq!(ids(t.path(6)), [1, 2, 6]);
        assert_eq!(ids(t.path(10)), [10]);
        assert!(t.path(99).is_empty());
        assert_eq!(t.depth(1), Some(0));
        assert_eq!(t.depth(5), Some(2));
        assert_eq!(t.depth(99), None);
    }

    #[test]
    fn subtree_queries() {
        let t = sample();
        assert!(t.is_in_subtree(5, 5));
        assert!(t.is_in_subtree(5, 3));
        assert!(t.is_in_subtree(5, 1));
        assert!(!t.is_in_subtree(5, 2));
        assert!(!t.is_in_subtree(1, 5));
        assert!(!t.is_in_subtree(5, 10));
        assert!(!t.is_in_subtree(99, 1));
        assert!(!t.is_in_subtree(1, 99));
        assert_eq!(t.subtree_ids(1), [1, 3, 5, 2, 4, 6]);
        assert_eq!(t.subtree_ids(2), [2, 4, 6]);
        assert_eq!(t.subtree_ids(5), [5]);
        assert!(t.subtree_ids(99).is_empty());
    }

    #[test]
    fn walk_preorder() {
        let t = sample();
        let w: Vec<(usize, i64)> = t.walk().into_iter().map(|(d, n)| (d, n.id)).collect();
        assert_eq!(w, [(0, 10), (0, 1), (1, 3), (2, 5), (1, 2), (2, 4), (2, 6)]);
    }

    #[test]
    fn empty_tree() {
        let t = OrgTree::new(Vec::new()).unwrap();
        assert!(t.is_empty());
        assert_eq!(t.len(), 0);
        assert!(t.walk().is_empty());
        assert!(t.roots().is_empty());
    }

    #[test]
    fn errors() {
        assert_eq!(
            OrgTree::new(vec![node(1, None, 0), node(1, None, 0)]).unwrap_err(),
            OrgError::DuplicateId(1)
        );
        assert_eq!(
            OrgTree::new(vec![node(1, None, 0), node(2, Some(7), 0)]).unwrap_err(),
            OrgError::UnknownParent { id: 2, parent: 7 }
        );
        assert_eq!(
            OrgTree::new(vec![node(1, Some(1), 0)]).unwrap_err(),
            OrgError::Cycle(1)
        );
        // 4 hangs below the cycle 2 → 3 → 2; the reported node is on the cycle.
        let err = OrgTree::new(vec![
            node(1, None, 0),
            node(4, Some(3), 0),
            node(2, Some(3), 0),
            node(3, Some(2), 0),
        ])
        .unwrap_err();
        assert!(
            matches!(err, OrgError::Cycle(2) | OrgError::Cycle(3)),
            "{err:?}"
        );
        assert_eq!(
            OrgError::DuplicateId(1).to_string(),
            "duplicate organisation node id 1"
        );
        assert_eq!(
            OrgError::UnknownParent { id: 2, parent: 7 }.to_string(),
            "organisation node 2 has unknown parent 7"
        );
        assert_eq!(
            OrgError::Cycle(3).to_string(),
            "cycle in organisation tree at node 3"
        );
    }

    #[test]
    fn deep_chain_no_recursion() {
        let n = 200_000;
        let nodes: Vec<OrgNode> = (0..n)
            .map(|i| node(i, if i == 0 { None } else { Some(i - 1) }, 0))
            .collect();
        let t = OrgTree::new(nodes).unwrap();
        assert_eq!(t.depth(n - 1), Some((n - 1) as usize));
        assert_eq!(t.path(n - 1).len(), n as usize);
        assert_eq!(t.subtree_ids(0).len(), n as usize);
        assert_eq!(t.walk().len(), n as usize);
        assert!(t.is_in_subtree(n - 1, 0));
        // A long cycle is still detected.
        let mut cyc: Vec<OrgNode> = (0..n).map(|i| node(i, Some((i + 1) % n), 0)).collect();
        cyc.push(node(n, None, 0));
        assert!(matches!(OrgTree::new(cyc), Err(OrgError::Cycle(_))));
    }

    /// Random forests: node i's parent is None or one of nodes 0..i, then the
    /// ids are shuffled by a bijection so parents are not always smaller.
    fn random_tree() -> impl Strategy<Value = Vec<OrgNode>> {
        (1usize..60)
            .prop_flat_map(|n| {
                let parents = (0..n)
                    .map(|i| {
                        if i == 0 {
                            Just(None).boxed()
                        } else {
                            proptest::option::weighted(0.85, 0..i).boxed()
                        }
                    })
                    .collect::<Vec<_>>();
                (
                    parents,
                    proptest::collection::vec(-3i32..3, n),
                    any::<u64>(),
                )
            })
            .prop_map(|(parents, sorts, seed)| {
                let mult = 2 * (seed % 50) as i64 + 1; // odd, so coprime with 128
                let perm = |i: usize| ((i as i64 * mult) % 128) * 3 + 1;
                let mut v: Vec<OrgNode> = parents
                    .iter()
                    .enumerate()
                    .map(|(i, p)| node(perm(i), p.map(perm), sorts[i]))
                    .collect();
                v.reverse();
                v
            })
    }

    proptest! {
        /// Subtree counts summed with the signs of `service_type_parts`
        /// equal the direct sum of every unit giving the service, per
        /// county, whatever types lie where.
        #[test]
        fn prop_service_type_parts_count_each_unit_once(
            nodes in random_tree(),
            types in proptest::collection::vec(proptest::option::weighted(0.4, 0usize..3), 60),
            own in proptest::collection::vec(0i64..1000, 60),
        ) {
            let mut nodes = nodes;
            for (i, n) in nodes.iter_mut().enumerate() {
                n.service_type = types[i].map(|t| ServiceType::ALL[t]);
            }
            let tree = OrgTree::new(nodes.clone()).unwrap();
            let own_of = |id: i64| own[nodes.iter().position(|n| n.id == id).unwrap()];
            let subtree = |id: i64| tree.subtree_ids(id).into_iter().map(own_of).sum::<i64>();
            for t in ServiceType::ALL.into_iter().take(4) {
                let mut signed: std::collections::BTreeMap<i64, i64> = Default::default();
                for (county, unit, sign) in tree.service_type_parts(t) {
                    prop_assert_eq!(tree.root_of(unit), Some(county));
                    prop_assert_eq!(tree.county_code(unit), tree.get(county).map(|n| n.code.as_str()));
                    *signed.entry(county).or_default() += i64::from(sign) * subtree(unit);
                }
                let mut direct: std::collections::BTreeMap<i64, i64> = Default::default();
                for n in &nodes {
                    if tree.service_type_of(n.id) == Some(t) {
                        *direct.entry(tree.root_of(n.id).unwrap()).or_default() += own_of(n.id);
                    }
                }
                signed.retain(|_, v| *v != 0);
                direct.retain(|_, v| *v != 0);
                prop_assert_eq!(signed, direct);
            }
        }

        #[test]
        fn prop_subtree_ancestor_consistency(nodes in random_tree()) {
            let t = OrgTree::new(nodes.clone()).unwrap();
            prop_assert_eq!(t.len(), nodes.len());
            let all: Vec<i64> = nodes.iter().map(|n| n.id).collect();
            for &n in &all {
                let path = ids(t.path(n));
                prop_assert_eq!(path.last().copied(), Some(n));
                prop_assert_eq!(path.len(), t.depth(n).unwrap() + 1);
                prop_assert_eq!(&ids(t.ancestors(n))[..], &path[..path.len() - 1]);
                for &r in &all {
                    prop_assert_eq!(t.is_in_subtree(n, r), path.contains(&r));
                    prop_assert_eq!(t.subtree_ids(r).contains(&n), path.contains(&r));
                }
            }
            let walk = t.walk();
            prop_assert_eq!(walk.len(), nodes.len());
            for (d, node) in &walk {
                prop_assert_eq!(Some(*d), t.depth(node.id));
            }
            // Pre-order: each node's subtree is a contiguous run starting at it.
            let order: Vec<i64> = walk.iter().map(|(_, n)| n.id).collect();
            for &r in &all {
                let sub = t.subtree_ids(r);
                let pos = order.iter().position(|x| *x == r).unwrap();
                prop_assert_eq!(&order[pos..pos + sub.len()], &sub[..]);
            }
            // Children are sorted by (sort_order, id).
            for &r in &all {
                let keys: Vec<(i32, i64)> = t.children(r).iter().map(|c| (c.sort_order, c.id)).collect();
                let mut sorted = keys.clone();
                sorted.sort();
                prop_assert_eq!(keys, sorted);
            }
        }
    }
}
