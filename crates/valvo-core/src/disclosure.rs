//! Statistical disclosure control for public figures: which cells of a
//! release are withheld so that no small group can be read off it.
//!
//! A release is a set of count cells tied by sums (a total and its parts:
//! the answers of a unit and period are the sum of its languages, of its
//! channels, of its child units and its own answers; a year is the sum of
//! the periods in it shown beside it and the rest of the year). Cells with
//! fewer than `min` (but some) answers are withheld (primary suppression).
//! Whatever lets a withheld cell be computed from what is shown is withheld
//! too (complementary suppression), until
//! - in every sum with a withheld cell that needs protection, at least two
//!   cells are withheld, and the withheld parts beside a shown total hold at
//!   least `min` answers together (so none of them is known to be small);
//! - no such cell is determined by the linear system of the shown cells
//!   (checked by elimination: it catches what follows from several sums
//!   together).
//!
//! Some cells are never published (a unit's own answers beside its child
//! units, the months of a year not shown): they count as unknown, and need
//! protection themselves only when they are small.

use std::collections::BTreeMap;

use crate::feedback::{Summary, MIN_PUBLIC_CELL};

/// One count of a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    /// The count.
    pub n: u64,
    /// Whether the release would show it (false: never shown, but part of a sum).
    pub published: bool,
}

/// `cells[total] = Σ cells[parts]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sum {
    /// The total's index.
    pub total: usize,
    /// The parts' indices.
    pub parts: Vec<usize>,
}

fn sensitive(c: &Cell, min: u64) -> bool {
    c.n > 0 && c.n < min
}

/// Whether a withheld cell must stay underivable: it is small, or it is a
/// published cell withheld (primary or complementary: a complementary cell
/// that can be computed gives away the cell it protects).
fn needs_protection(c: &Cell, hidden: bool, min: u64) -> bool {
    hidden && (sensitive(c, min) || c.published)
}

/// Whether the sum protects its withheld cells (see the module comment).
fn sum_ok(s: &Sum, cells: &[Cell], hidden: &[bool], min: u64) -> bool {
    let members = std::iter::once(s.total).chain(s.parts.iter().copied());
    if !members
        .clone()
        .any(|i| needs_protection(&cells[i], hidden[i], min))
    {
        return true;
    }
    let hidden_parts: Vec<usize> = s.parts.iter().copied().filter(|&i| hidden[i]).collect();
    if hidden[s.total] {
        !hidden_parts.is_empty()
    } else {
        hidden_parts.len() >= 2 && hidden_parts.iter().map(|&i| cells[i].n).sum::<u64>() >= min
    }
}

/// The next cell to withhold in a sum that does not protect its cells: a
/// shown part with answers, the smallest first; then a shown part without;
/// then the total. Never a `frozen` cell (one whose visibility is settled
/// elsewhere, as a child unit's on its own page).
fn candidate(s: &Sum, cells: &[Cell], hidden: &[bool], frozen: &[bool]) -> Option<usize> {
    let free = |i: usize| !hidden[i] && !frozen.get(i).copied().unwrap_or(false);
    let shown_parts = || s.parts.iter().copied().filter(|&i| free(i));
    shown_parts()
        .filter(|&i| cells[i].n > 0)
        .min_by_key(|&i| (cells[i].n, i))
        .or_else(|| shown_parts().min())
        .or_else(|| free(s.total).then_some(s.total))
}

/// Which cells are withheld: `forced` ones (withheld already for another
/// reason), every cell not published, the small ones, and the complementary
/// ones (see the module comment), never choosing a `frozen` one as a
/// complement. Deterministic.
pub fn protect(
    cells: &[Cell],
    sums: &[Sum],
    min: u64,
    forced: &[bool],
    frozen: &[bool],
) -> Vec<bool> {
    let mut hidden: Vec<bool> = cells
        .iter()
        .enumerate()
        .map(|(i, c)| forced.get(i).copied().unwrap_or(false) || !c.published || sensitive(c, min))
        .collect();
    loop {
        // Sum by sum, until every sum protects its cells.
        loop {
            let mut round = false;
            for s in sums {
                while !sum_ok(s, cells, &hidden, min) {
                    let Some(i) = candidate(s, cells, &hidden, frozen) else {
                        break;
                    };
                    hidden[i] = true;
                    round = true;
                }
            }
            if !round {
                break;
            }
        }
        // What several sums determine together: withhold one more cell
        // beside a cell that still follows, and check again.
        let det = determined(cells.len(), sums, &hidden);
        let next = (0..cells.len())
            .filter(|&i| det[i] && needs_protection(&cells[i], hidden[i], min))
            .find_map(|i| {
                sums.iter()
                    .filter(|s| s.total == i || s.parts.contains(&i))
                    .find_map(|s| candidate(s, cells, &hidden, frozen))
            });
        match next {
            Some(j) => hidden[j] = true,
            None => return hidden,
        }
    }
}

/// For every cell: whether it is withheld and yet follows from the shown
/// cells and the sums (its unit vector lies in the row space of the sums
/// restricted to the withheld cells). Gaussian elimination in exact
/// rational arithmetic (the sums have coefficients ±1; the systems are small).
pub fn determined(n: usize, sums: &[Sum], hidden: &[bool]) -> Vec<bool> {
    let vars: Vec<usize> = (0..n).filter(|&i| hidden[i]).collect();
    let col: BTreeMap<usize, usize> = vars.iter().enumerate().map(|(c, &v)| (v, c)).collect();
    let mut rows: Vec<Vec<Frac>> = Vec::new();
    for s in sums {
        let mut row = vec![Frac::ZERO; vars.len()];
        let mut any = false;
        if let Some(&c) = col.get(&s.total) {
            row[c] = row[c].add(Frac::ONE);
            any = true;
        }
        for p in &s.parts {
            if let Some(&c) = col.get(p) {
                row[c] = row[c].sub(Frac::ONE);
                any = true;
            }
        }
        if any {
            rows.push(row);
        }
    }
    // Reduced row echelon form.
    let mut pivots: Vec<(usize, usize)> = Vec::new(); // (row, column)
    let mut r = 0;
    for c in 0..vars.len() {
        let Some(p) = (r..rows.len()).find(|&i| !rows[i][c].is_zero()) else {
            continue;
        };
        rows.swap(r, p);
        let lead = rows[r][c];
        for x in rows[r].iter_mut() {
            *x = x.div(lead);
        }
        for i in 0..rows.len() {
            if i != r && !rows[i][c].is_zero() {
                let f = rows[i][c];
                for k in 0..vars.len() {
                    let v = rows[r][k].mul(f);
                    rows[i][k] = rows[i][k].sub(v);
                }
            }
        }
        pivots.push((r, c));
        r += 1;
        if r == rows.len() {
            break;
        }
    }
    let mut out = vec![false; n];
    for (row, c) in pivots {
        if rows[row]
            .iter()
            .enumerate()
            .all(|(k, x)| k == c || x.is_zero())
        {
            out[vars[c]] = true;
        }
    }
    out
}

/// A fraction with an i128 numerator and denominator, reduced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Frac(i128, i128);

impl Frac {
    const ZERO: Frac = Frac(0, 1);
    const ONE: Frac = Frac(1, 1);

    fn new(n: i128, d: i128) -> Frac {
        let g = gcd(n.abs(), d.abs()).max(1);
        let s = if d < 0 { -1 } else { 1 };
        Frac(s * n / g, s * d / g)
    }
    fn is_zero(self) -> bool {
        self.0 == 0
    }
    fn add(self, o: Frac) -> Frac {
        Frac::new(self.0 * o.1 + o.0 * self.1, self.1 * o.1)
    }
    fn sub(self, o: Frac) -> Frac {
        Frac::new(self.0 * o.1 - o.0 * self.1, self.1 * o.1)
    }
    fn mul(self, o: Frac) -> Frac {
        Frac::new(self.0 * o.0, self.1 * o.1)
    }
    fn div(self, o: Frac) -> Frac {
        Frac::new(self.0 * o.1, self.1 * o.0)
    }
}

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

// ------------------------------------------------------------------ feedback

/// One unit's figures of one period for the public: its subtree's total and
/// each breakdown's groups (every unit with the same groups in the same
/// order; a group without answers is an empty summary).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UnitFigures {
    /// The whole subtree.
    pub total: Summary,
    /// Each breakdown dimension's groups.
    pub dims: Vec<Vec<Summary>>,
}

/// What of a summary may be shown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shown {
    /// Its answer count (and everything else: when false, nothing of it is shown).
    pub answers: bool,
    /// Its recommendation figures.
    pub nps: bool,
    /// Each statement's figures, by key.
    pub statements: BTreeMap<String, bool>,
}

impl Shown {
    /// Whether a statement's figures may be shown.
    pub fn statement(&self, key: &str) -> bool {
        self.statements.get(key).copied().unwrap_or(false)
    }
}

/// What of one unit's figures of a period the public may see.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnitShown {
    /// The total.
    pub total: Shown,
    /// Each breakdown's groups, in [`UnitFigures::dims`] order.
    pub dims: Vec<Vec<Shown>>,
}

/// One layer of a release: which count of each summary it is about.
#[derive(Clone, Copy)]
enum Layer<'k> {
    Answers,
    Nps,
    Statement(&'k str),
}

impl Layer<'_> {
    fn of(self, s: &Summary) -> u64 {
        match self {
            Layer::Answers => s.answers,
            Layer::Nps => s.nps.n,
            Layer::Statement(k) => s.statement(k).map(|x| x.n).unwrap_or(0),
        }
    }
}

/// A unit's cells in one layer: its total, then its groups, dimension by dimension.
fn unit_cells(u: &UnitFigures, layer: Layer<'_>) -> Vec<u64> {
    std::iter::once(layer.of(&u.total))
        .chain(u.dims.iter().flatten().map(|g| layer.of(g)))
        .collect()
}

/// The sums of one unit's cells laid out by [`unit_cells`] from `base`:
/// the total is the sum of each dimension's groups.
fn unit_sums(u: &UnitFigures, base: usize, out: &mut Vec<Sum>) {
    let mut next = base + 1;
    for d in &u.dims {
        out.push(Sum {
            total: base,
            parts: (next..next + d.len()).collect(),
        });
        next += d.len();
    }
}

/// What the public may see of every unit's figures under `root` in one
/// period: small cells withheld, and whatever would let them be computed
/// from the cells shown on any page of that period (a unit's total beside
/// its breakdowns, a unit beside its child units and its own answers, which
/// are never shown). Worked out from the leaves up, each unit with its
/// children's visibility as settled on their own pages, so every page shows
/// the same of a unit. `figures` holds every unit of the subtree.
pub fn protect_tree(
    tree: &crate::org::OrgTree,
    root: i64,
    figures: &BTreeMap<i64, UnitFigures>,
    min: u64,
) -> BTreeMap<i64, UnitShown> {
    let mut keys: Vec<&str> = figures
        .values()
        .flat_map(|u| u.total.statements.iter().map(|x| x.key.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let layers: Vec<Layer<'_>> = [Layer::Answers, Layer::Nps]
        .into_iter()
        .chain(keys.iter().map(|k| Layer::Statement(k)))
        .collect();
    // Per unit and layer: its cells' withheld flags.
    let mut hidden: BTreeMap<i64, Vec<Vec<bool>>> = BTreeMap::new();
    let empty = UnitFigures::default();
    let mut order: Vec<i64> = tree.subtree_ids(root);
    // Children before parents.
    order.sort_by_key(|id| std::cmp::Reverse(tree.ancestors(*id).len()));
    for id in order {
        let me = figures.get(&id).unwrap_or(&empty);
        let children: Vec<i64> = tree
            .children(id)
            .iter()
            .map(|n| n.id)
            .filter(|c| figures.contains_key(c))
            .collect();
        let width = unit_cells(me, Layer::Answers).len();
        let mut mine = Vec::with_capacity(layers.len());
        for (li, layer) in layers.iter().enumerate() {
            let own_vals = unit_cells(me, *layer);
            let mut cells: Vec<Cell> = own_vals
                .iter()
                .map(|&n| Cell { n, published: true })
                .collect();
            let mut forced = vec![false; width];
            let mut frozen = vec![false; width];
            // The layers below the answers: what the answers withheld stays withheld.
            if li > 0 {
                if let Some(first) = mine.first() {
                    let first: &Vec<bool> = first;
                    forced.copy_from_slice(&first[..width]);
                }
            }
            let mut sums = Vec::new();
            unit_sums(me, 0, &mut sums);
            if !children.is_empty() {
                // The unit's own answers (never shown): the unit less its children.
                let mut own = own_vals.clone();
                let own_base = cells.len();
                let mut child_bases = Vec::new();
                for c in &children {
                    let cf = figures.get(c).unwrap_or(&empty);
                    let vals = unit_cells(cf, *layer);
                    for (o, v) in own.iter_mut().zip(&vals) {
                        *o = o.saturating_sub(*v);
                    }
                    child_bases.push((*c, vals));
                }
                cells.extend(own.iter().map(|&n| Cell {
                    n,
                    published: false,
                }));
                forced.extend(std::iter::repeat_n(false, width));
                frozen.extend(std::iter::repeat_n(false, width));
                unit_sums(me, own_base, &mut sums);
                let mut bases = Vec::new();
                for (c, vals) in child_bases {
                    let base = cells.len();
                    cells.extend(vals.iter().map(|&n| Cell { n, published: true }));
                    let settled = hidden
                        .get(&c)
                        .and_then(|l| l.get(li))
                        .cloned()
                        .unwrap_or_else(|| vec![false; width]);
                    forced.extend(settled);
                    frozen.extend(std::iter::repeat_n(true, width));
                    bases.push(base);
                }
                // Each cell of the unit = its own + its children's.
                for k in 0..width {
                    let mut parts = vec![own_base + k];
                    parts.extend(bases.iter().map(|b| b + k));
                    sums.push(Sum { total: k, parts });
                }
            }
            let h = protect(&cells, &sums, min, &forced, &frozen);
            mine.push(h[..width].to_vec());
        }
        hidden.insert(id, mine);
    }
    hidden
        .into_iter()
        .map(|(id, layers_hidden)| {
            let me = figures.get(&id).unwrap_or(&empty);
            let shown = |k: usize| Shown {
                answers: !layers_hidden[0][k],
                nps: !layers_hidden[0][k] && !layers_hidden[1][k],
                statements: keys
                    .iter()
                    .enumerate()
                    .map(|(i, key)| {
                        (
                            (*key).to_owned(),
                            !layers_hidden[0][k] && !layers_hidden[2 + i][k],
                        )
                    })
                    .collect(),
            };
            let mut k = 1;
            let dims = me
                .dims
                .iter()
                .map(|d| {
                    let v: Vec<Shown> = (0..d.len()).map(|g| shown(k + g)).collect();
                    k += d.len();
                    v
                })
                .collect();
            (
                id,
                UnitShown {
                    total: shown(0),
                    dims,
                },
            )
        })
        .collect()
}

/// Whether a year's totals (answers, NPS) may stand in a public trend beside
/// its tertials: only when each tertial's is shown or empty, so the year
/// gives away nothing a tertial withholds. `tertials` holds (answers,
/// recommendation answers) of each.
pub fn year_shown(tertials: &[(u64, u64)], min: u64) -> (bool, bool) {
    let ok = |n: u64| n == 0 || n >= min;
    (
        tertials.iter().all(|t| ok(t.0)),
        tertials.iter().all(|t| ok(t.0) && ok(t.1)),
    )
}

/// [`protect_tree`] with the national minimum cell ([`MIN_PUBLIC_CELL`]).
pub fn protect_tree_public(
    tree: &crate::org::OrgTree,
    root: i64,
    figures: &BTreeMap<i64, UnitFigures>,
) -> BTreeMap<i64, UnitShown> {
    protect_tree(tree, root, figures, MIN_PUBLIC_CELL)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use proptest::prelude::*;

    fn cells(ns: &[u64]) -> Vec<Cell> {
        ns.iter().map(|&n| Cell { n, published: true }).collect()
    }

    #[test]
    fn one_small_group_takes_the_next_smallest_with_it() {
        // total 20 = fi 12 + sv 2 + other 6
        let c = cells(&[20, 12, 2, 6]);
        let s = [Sum {
            total: 0,
            parts: vec![1, 2, 3],
        }];
        let h = protect(&c, &s, 5, &[], &[]);
        assert_eq!(h, [false, false, true, true]);
    }

    #[test]
    fn the_withheld_parts_hold_at_least_the_minimum_together() {
        // total 30 = 25 + 2 + 1 + 2: the three small ones are 5 together.
        let c = cells(&[30, 25, 2, 1, 2]);
        let s = [Sum {
            total: 0,
            parts: vec![1, 2, 3, 4],
        }];
        let h = protect(&c, &s, 5, &[], &[]);
        assert_eq!(h, [false, false, true, true, true]);
        // 30 = 26 + 3 + 1: the two small ones are 4 together, so the big one goes too.
        let c = cells(&[30, 26, 3, 1]);
        let s = [Sum {
            total: 0,
            parts: vec![1, 2, 3],
        }];
        assert_eq!(protect(&c, &s, 5, &[], &[]), [false, true, true, true]);
    }

    #[test]
    fn a_small_total_hides_itself_and_the_year_that_would_give_it() {
        // Year 2025 = H1 (30) + H2 (3): the H2 total is small, and the year
        // row beside H1 would give it away.
        let c = cells(&[3, 30, 33]);
        let s = [Sum {
            total: 2,
            parts: vec![0, 1],
        }];
        let h = protect(&c, &s, 5, &[], &[]);
        assert!(h[0]);
        assert!(h[1] || h[2], "{h:?}");
    }

    #[test]
    fn a_small_own_count_beside_the_children_is_protected() {
        // Area 40 = child 20 + child 18 + own 2 (never shown).
        let mut c = cells(&[40, 20, 18, 2]);
        c[3].published = false;
        let s = [Sum {
            total: 0,
            parts: vec![1, 2, 3],
        }];
        let h = protect(&c, &s, 5, &[], &[]);
        assert_eq!(h, [false, false, true, true]);
    }

    #[test]
    fn nothing_is_withheld_without_small_cells() {
        let c = cells(&[20, 10, 10, 0]);
        let s = [Sum {
            total: 0,
            parts: vec![1, 2, 3],
        }];
        assert_eq!(protect(&c, &s, 5, &[], &[]), [false; 4]);
    }

    /// Exact check, independent of the elimination in the module: the
    /// withheld cell `i` is determined iff the system has a unique value for
    /// it; with non-negative integer counts, try every assignment in a box.
    fn values_consistent(c: &[Cell], s: &[Sum], hidden: &[bool], i: usize, limit: u64) -> Vec<u64> {
        let vars: Vec<usize> = (0..c.len()).filter(|&k| hidden[k]).collect();
        let mut found = std::collections::BTreeSet::new();
        let mut assign = vec![0u64; c.len()];
        for k in 0..c.len() {
            assign[k] = c[k].n;
        }
        fn rec(
            k: usize,
            vars: &[usize],
            assign: &mut Vec<u64>,
            c: &[Cell],
            s: &[Sum],
            i: usize,
            limit: u64,
            found: &mut std::collections::BTreeSet<u64>,
        ) {
            if found.len() > 1 {
                return;
            }
            if k == vars.len() {
                if s.iter()
                    .all(|x| assign[x.total] == x.parts.iter().map(|&p| assign[p]).sum::<u64>())
                {
                    found.insert(assign[i]);
                }
                return;
            }
            for v in 0..=limit {
                assign[vars[k]] = v;
                rec(k + 1, vars, assign, c, s, i, limit, found);
            }
        }
        rec(0, &vars, &mut assign, c, s, i, limit, &mut found);
        found.into_iter().collect()
    }

    fn partition(total: u64, parts: &[u64]) -> Vec<u64> {
        // Scales random weights to sum to `total`.
        let w: u64 = parts.iter().sum::<u64>().max(1);
        let mut out: Vec<u64> = parts.iter().map(|p| p * total / w).collect();
        let rest = total - out.iter().sum::<u64>();
        if let Some(first) = out.first_mut() {
            *first += rest;
        }
        out
    }

    #[test]
    fn the_brute_force_check_sees_a_cell_given_away() {
        // 20 = 12 + 2 + 6 with only the 2 withheld: it is 20 - 12 - 6.
        let c = cells(&[20, 12, 2, 6]);
        let s = [Sum {
            total: 0,
            parts: vec![1, 2, 3],
        }];
        assert_eq!(
            values_consistent(&c, &s, &[false, false, true, false], 2, 20),
            [2]
        );
        assert!(values_consistent(&c, &s, &[false, false, true, true], 2, 20).len() > 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// A total with two breakdowns of it: no withheld cell that needs
        /// protection has only one possible value given what is shown
        /// (brute force over small counts), and every sum protects its cells.
        #[test]
        fn no_withheld_cell_follows_from_what_is_shown(
            total in 0u64..14,
            a in proptest::collection::vec(0u64..6, 1..4),
            b in proptest::collection::vec(0u64..6, 1..3),
        ) {
            let pa = partition(total, &a);
            let pb = partition(total, &b);
            let mut ns = vec![total];
            ns.extend(&pa);
            ns.extend(&pb);
            let c = cells(&ns);
            let s = vec![
                Sum { total: 0, parts: (1..=pa.len()).collect() },
                Sum { total: 0, parts: (pa.len() + 1..=pa.len() + pb.len()).collect() },
            ];
            let hidden = protect(&c, &s, 5, &[], &[]);
            for x in &s {
                prop_assert!(sum_ok(x, &c, &hidden, 5));
            }
            let hidden_count = hidden.iter().filter(|h| **h).count();
            prop_assume!(hidden_count <= 5);
            for i in 0..c.len() {
                if needs_protection(&c[i], hidden[i], 5) {
                    let vals = values_consistent(&c, &s, &hidden, i, total.max(1));
                    prop_assert!(vals.len() > 1, "cell {} ({}) is determined: {:?} hidden {:?}", i, c[i].n, ns, hidden);
                }
            }
        }

        /// A unit and its children beside its languages, in two periods with
        /// a year row over both: every small cell is withheld, no withheld
        /// cell that needs protection is determined (elimination), and
        /// every sum protects its cells.
        #[test]
        fn unit_children_languages_and_year(
            kids in proptest::collection::vec((0u64..12, 0u64..12), 2..4),
            own in (0u64..4, 0u64..4),
            langs in proptest::collection::vec(1u64..5, 2..4),
            rest in 0u64..4,
        ) {
            let tc: u64 = kids.iter().map(|k| k.0).sum::<u64>() + own.0;
            let tp: u64 = kids.iter().map(|k| k.1).sum::<u64>() + own.1;
            let lc = partition(tc, &langs);
            let lp = partition(tp, &langs);
            let mut c = Vec::new();
            let mut push = |n: u64, published: bool| {
                c.push(Cell { n, published });
                c.len() - 1
            };
            let t = [push(tc, true), push(tp, true)];
            let k: Vec<[usize; 2]> = kids.iter().map(|(a, b)| [push(*a, true), push(*b, true)]).collect();
            let o = [push(own.0, false), push(own.1, false)];
            let g: Vec<[usize; 2]> = lc.iter().zip(&lp).map(|(a, b)| [push(*a, true), push(*b, true)]).collect();
            let year = push(tc + tp + rest, true);
            let rest_i = push(rest, false);
            let mut s = Vec::new();
            for side in 0..2 {
                let mut parts: Vec<usize> = k.iter().map(|x| x[side]).collect();
                parts.push(o[side]);
                s.push(Sum { total: t[side], parts });
                s.push(Sum { total: t[side], parts: g.iter().map(|x| x[side]).collect() });
            }
            s.push(Sum { total: year, parts: vec![t[0], t[1], rest_i] });
            let hidden = protect(&c, &s, 5, &[], &[]);
            let det = determined(c.len(), &s, &hidden);
            for i in 0..c.len() {
                if sensitive(&c[i], 5) {
                    prop_assert!(hidden[i], "small cell {} shown", i);
                }
                if needs_protection(&c[i], hidden[i], 5) {
                    prop_assert!(!det[i], "cell {} determined; hidden {:?}", i, hidden);
                }
            }
            for x in &s {
                prop_assert!(sum_ok(x, &c, &hidden, 5));
            }
        }
    }

    fn summary(answers: u64, nps_n: u64) -> Summary {
        let mut s = Summary {
            answers,
            ..Summary::default()
        };
        s.nps.n = nps_n;
        s
    }

    /// A tree: 1 the county; 2 and 3 areas under it; leaves under the areas.
    fn test_tree(leaves: &[usize]) -> (crate::org::OrgTree, Vec<(i64, Option<i64>)>) {
        use crate::org::{OrgNode, OrgTree, ProducerType};
        let mut nodes = vec![(1, None), (2, Some(1)), (3, Some(1))];
        let mut next = 4;
        for (i, n) in leaves.iter().enumerate() {
            for _ in 0..*n {
                nodes.push((next, Some(2 + (i as i64 % 2))));
                next += 1;
            }
        }
        let tree = OrgTree::new(
            nodes
                .iter()
                .map(|(id, parent)| OrgNode {
                    id: *id,
                    parent_id: *parent,
                    code: format!("u{id}"),
                    name: crate::text::I18nText::default(),
                    producer: ProducerType::Own,
                    sort_order: 0,
                    service_type: None,
                })
                .collect(),
        )
        .unwrap();
        (tree, nodes)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(150))]

        /// Every unit's own answers (language 0–2, channel 0–1, with or
        /// without a recommendation), added up the tree; after protect_tree,
        /// the whole tree's system of sums, with what the pages show known,
        /// determines no cell that needs protection, and no small cell is shown.
        #[test]
        fn no_page_of_the_tree_gives_a_withheld_cell_away(
            leaves in proptest::collection::vec(1usize..3, 2),
            own in proptest::collection::vec(
                proptest::collection::vec((0usize..3, 0usize..2, proptest::bool::ANY), 0..9), 9),
        ) {
            let (tree, nodes) = test_tree(&leaves);
            let ids: Vec<i64> = nodes.iter().map(|n| n.0).collect();
            // Each unit's own answers.
            let own_of = |id: i64| -> Vec<(usize, usize, bool)> {
                let i = ids.iter().position(|x| *x == id).unwrap();
                own.get(i).cloned().unwrap_or_default()
            };
            let mut figures = BTreeMap::new();
            for &id in &ids {
                let mut answers: Vec<(usize, usize, bool)> = Vec::new();
                for u in tree.subtree_ids(id) {
                    answers.extend(own_of(u));
                }
                let count = |f: &dyn Fn(&(usize, usize, bool)) -> bool| {
                    let sel: Vec<_> = answers.iter().filter(|a| f(a)).collect();
                    summary(sel.len() as u64, sel.iter().filter(|a| a.2).count() as u64)
                };
                figures.insert(id, UnitFigures {
                    total: count(&|_| true),
                    dims: vec![
                        (0..3).map(|l| count(&|a| a.0 == l)).collect(),
                        (0..2).map(|c| count(&|a| a.1 == c)).collect(),
                    ],
                });
            }
            let shown = protect_tree(&tree, 1, &figures, 5);
            // The global system, in the answers layer.
            let mut cells = Vec::new();
            let mut hidden = Vec::new();
            let mut base = BTreeMap::new();
            for &id in &ids {
                let f = &figures[&id];
                let vals = unit_cells(f, Layer::Answers);
                base.insert(id, cells.len());
                let sh = &shown[&id];
                let flags: Vec<bool> = std::iter::once(&sh.total)
                    .chain(sh.dims.iter().flatten())
                    .map(|x| !x.answers)
                    .collect();
                for (v, h) in vals.iter().zip(flags) {
                    if *v > 0 && *v < 5 {
                        prop_assert!(h, "unit {} shows a small cell", id);
                    }
                    cells.push(Cell { n: *v, published: true });
                    hidden.push(h);
                }
            }
            let width = 1 + 3 + 2;
            let mut sums = Vec::new();
            for &id in &ids {
                unit_sums(&figures[&id], base[&id], &mut sums);
                let children: Vec<i64> = tree.children(id).iter().map(|n| n.id).collect();
                if children.is_empty() {
                    continue;
                }
                // Own cells: unknowns of the system.
                let own_base = cells.len();
                let mut own_vals = unit_cells(&figures[&id], Layer::Answers);
                for c in &children {
                    for (o, v) in own_vals.iter_mut().zip(unit_cells(&figures[c], Layer::Answers)) {
                        *o -= v;
                    }
                }
                for v in &own_vals {
                    cells.push(Cell { n: *v, published: false });
                    hidden.push(true);
                }
                unit_sums(&figures[&id], own_base, &mut sums);
                for k in 0..width {
                    let mut parts = vec![own_base + k];
                    parts.extend(children.iter().map(|c| base[c] + k));
                    sums.push(Sum { total: base[&id] + k, parts });
                }
            }
            let det = determined(cells.len(), &sums, &hidden);
            for i in 0..cells.len() {
                if needs_protection(&cells[i], hidden[i], 5) {
                    prop_assert!(!det[i], "cell {} ({}) follows from the pages", i, cells[i].n);
                }
            }
        }
    }

    #[test]
    fn a_year_stands_beside_its_tertials_only_when_they_are_shown() {
        assert_eq!(year_shown(&[(12, 10), (0, 0), (30, 29)], 5), (true, true));
        assert_eq!(year_shown(&[(12, 3), (8, 8), (30, 29)], 5), (true, false));
        assert_eq!(year_shown(&[(2, 2), (8, 8), (30, 29)], 5), (false, false));
    }

    #[test]
    fn elimination_finds_what_two_sums_give_together() {
        // a = b + c and a = b + d with only c withheld in the first and d in
        // the second: each sum has one withheld cell, so each is determined.
        let s = [
            Sum {
                total: 0,
                parts: vec![1, 2],
            },
            Sum {
                total: 0,
                parts: vec![1, 3],
            },
        ];
        let det = determined(4, &s, &[false, false, true, true]);
        assert_eq!(det, [false, false, true, true]);
        // Withholding b too leaves c and d tied (c = d) but undetermined.
        let det = determined(4, &s, &[false, true, true, true]);
        assert_eq!(det, [false; 4]);
    }
}
