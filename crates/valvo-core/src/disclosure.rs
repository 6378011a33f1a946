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
use crate::period::{Period, PeriodKind};

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
/// then the total.
fn candidate(s: &Sum, cells: &[Cell], hidden: &[bool]) -> Option<usize> {
    let shown_parts = || s.parts.iter().copied().filter(|&i| !hidden[i]);
    shown_parts()
        .filter(|&i| cells[i].n > 0)
        .min_by_key(|&i| (cells[i].n, i))
        .or_else(|| shown_parts().min())
        .or_else(|| (!hidden[s.total]).then_some(s.total))
}

/// Which cells are withheld: `forced` ones (withheld already for another
/// reason), every cell not published, the small ones, and the complementary
/// ones (see the module comment). Deterministic.
pub fn protect(cells: &[Cell], sums: &[Sum], min: u64, forced: &[bool]) -> Vec<bool> {
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
                    let Some(i) = candidate(s, cells, &hidden) else {
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
                    .find_map(|s| candidate(s, cells, &hidden))
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

/// What a public feedback statistics page or answer shows, as summaries:
/// the period and the previous one (each with its breakdowns by language,
/// channel and respondent, and its child units), and the yearly trend.
#[derive(Clone, Debug, Default)]
pub struct FeedbackRelease<'a> {
    /// The period.
    pub period: Option<Period>,
    /// The previous period.
    pub previous: Option<Period>,
    /// The last month that can have answers (today's).
    pub today_month: Option<Period>,
    /// The period's figures.
    pub current: Option<&'a Summary>,
    /// The previous period's.
    pub prev: Option<&'a Summary>,
    /// Each breakdown dimension: its groups as (this period, previous).
    pub dims: Vec<Vec<(&'a Summary, &'a Summary)>>,
    /// The child units as (this period, previous).
    pub children: Vec<(&'a Summary, &'a Summary)>,
    /// The trend: (year, answers, answers to the recommendation question).
    pub trend: Vec<(i32, u64, u64)>,
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

/// The visibility of every summary of a [`FeedbackRelease`], in its order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeedbackShown {
    /// The period's figures.
    pub current: Shown,
    /// The previous period's.
    pub prev: Shown,
    /// Each dimension's groups: (this period, previous).
    pub dims: Vec<Vec<(Shown, Shown)>>,
    /// The child units: (this period, previous).
    pub children: Vec<(Shown, Shown)>,
    /// The trend's years: (answers shown, NPS shown).
    pub trend: Vec<(bool, bool)>,
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

/// Where each summary of the release sits in the cell list of a layer.
struct Layout {
    cells: Vec<Cell>,
    sums: Vec<Sum>,
    /// (current total, previous total)
    totals: [usize; 2],
    /// dims[d][g] = (current, previous)
    dims: Vec<Vec<[usize; 2]>>,
    children: Vec<[usize; 2]>,
    trend: Vec<usize>,
}

fn layout(r: &FeedbackRelease<'_>, layer: Layer<'_>) -> Layout {
    let empty = Summary::default();
    let cur = r.current.unwrap_or(&empty);
    let prev = r.prev.unwrap_or(&empty);
    let mut cells = Vec::new();
    let mut sums = Vec::new();
    let push = |cells: &mut Vec<Cell>, n: u64, published: bool| {
        cells.push(Cell { n, published });
        cells.len() - 1
    };
    let totals = [
        push(&mut cells, layer.of(cur), true),
        push(&mut cells, layer.of(prev), true),
    ];
    let mut dims = Vec::new();
    for groups in &r.dims {
        let mut idx = Vec::new();
        for (c, p) in groups {
            idx.push([
                push(&mut cells, layer.of(c), true),
                push(&mut cells, layer.of(p), true),
            ]);
        }
        for side in 0..2 {
            sums.push(Sum {
                total: totals[side],
                parts: idx.iter().map(|g| g[side]).collect(),
            });
        }
        dims.push(idx);
    }
    let mut children = Vec::new();
    for (c, p) in &r.children {
        children.push([
            push(&mut cells, layer.of(c), true),
            push(&mut cells, layer.of(p), true),
        ]);
    }
    if !r.children.is_empty() {
        for (side, total) in [layer.of(cur), layer.of(prev)].into_iter().enumerate() {
            let sum_children: u64 = children.iter().map(|c| cells[c[side]].n).sum();
            let own = push(&mut cells, total.saturating_sub(sum_children), false);
            let mut parts: Vec<usize> = children.iter().map(|c| c[side]).collect();
            parts.push(own);
            sums.push(Sum {
                total: totals[side],
                parts,
            });
        }
    }
    let mut trend = Vec::new();
    if !matches!(layer, Layer::Statement(_)) {
        for &(year, answers, nps_n) in &r.trend {
            let n = match layer {
                Layer::Answers => answers,
                _ => nps_n,
            };
            let row = push(&mut cells, n, true);
            trend.push(row);
            let Ok(y) = Period::year(year) else { continue };
            let inside: Vec<(usize, Period)> = [(totals[0], r.period), (totals[1], r.previous)]
                .into_iter()
                .filter_map(|(i, p)| p.filter(|p| y.contains(p)).map(|p| (i, p)))
                .collect();
            if inside.is_empty() {
                continue;
            }
            let mut parts: Vec<usize> = inside.iter().map(|(i, _)| *i).collect();
            // The months of the year shown in neither period and not yet to
            // come: unknown to the reader, but part of the year's count.
            let open_months = y
                .sub_periods(PeriodKind::Month)
                .into_iter()
                .filter(|m| !inside.iter().any(|(_, p)| p.contains(m)))
                .any(|m| r.today_month.is_none_or(|t| m.start() <= t.start()));
            if open_months {
                let shown: u64 = inside.iter().map(|(i, _)| cells[*i].n).sum();
                parts.push(push(&mut cells, n.saturating_sub(shown), false));
            }
            sums.push(Sum { total: row, parts });
        }
    }
    Layout {
        cells,
        sums,
        totals,
        dims,
        children,
        trend,
    }
}

/// Which figures of a public feedback release may be shown, with cells of
/// fewer than `min` answers withheld and whatever would give them away (see
/// the module comment). A summary's NPS and statements are withheld with its
/// answers, and on their own when they have too few answers themselves.
pub fn protect_feedback(r: &FeedbackRelease<'_>, min: u64) -> FeedbackShown {
    let answers = layout(r, Layer::Answers);
    let hidden = protect(&answers.cells, &answers.sums, min, &[]);
    let base_hidden = |l: &Layout| -> Vec<bool> {
        // The same summaries withheld in every layer as in the answers.
        let mut forced = vec![false; l.cells.len()];
        let pairs = l
            .totals
            .iter()
            .zip(answers.totals.iter())
            .map(|(a, b)| (*a, *b))
            .chain(
                l.dims
                    .iter()
                    .flatten()
                    .zip(answers.dims.iter().flatten())
                    .flat_map(|(a, b)| [(a[0], b[0]), (a[1], b[1])]),
            )
            .chain(
                l.children
                    .iter()
                    .zip(answers.children.iter())
                    .flat_map(|(a, b)| [(a[0], b[0]), (a[1], b[1])]),
            )
            .chain(l.trend.iter().copied().zip(answers.trend.iter().copied()));
        for (i, j) in pairs {
            forced[i] = hidden[j];
        }
        forced
    };
    let nps = layout(r, Layer::Nps);
    let nps_hidden = protect(&nps.cells, &nps.sums, min, &base_hidden(&nps));
    let mut keys: Vec<&str> = r
        .current
        .into_iter()
        .chain(r.prev)
        .flat_map(|s| s.statements.iter().map(|x| x.key.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let statement_hidden: Vec<(&str, Layout, Vec<bool>)> = keys
        .iter()
        .map(|k| {
            let l = layout(r, Layer::Statement(k));
            let h = protect(&l.cells, &l.sums, min, &base_hidden(&l));
            (*k, l, h)
        })
        .collect();
    let shown = |pick: &dyn Fn(&Layout) -> usize| -> Shown {
        Shown {
            answers: !hidden[pick(&answers)],
            nps: !nps_hidden[pick(&nps)],
            statements: statement_hidden
                .iter()
                .map(|(k, l, h)| ((*k).to_owned(), !h[pick(l)]))
                .collect(),
        }
    };
    FeedbackShown {
        current: shown(&|l| l.totals[0]),
        prev: shown(&|l| l.totals[1]),
        dims: (0..answers.dims.len())
            .map(|d| {
                (0..answers.dims[d].len())
                    .map(|g| (shown(&|l| l.dims[d][g][0]), shown(&|l| l.dims[d][g][1])))
                    .collect()
            })
            .collect(),
        children: (0..answers.children.len())
            .map(|c| (shown(&|l| l.children[c][0]), shown(&|l| l.children[c][1])))
            .collect(),
        trend: (0..answers.trend.len())
            .map(|t| (!hidden[answers.trend[t]], !nps_hidden[nps.trend[t]]))
            .collect(),
    }
}

/// [`protect_feedback`] with the national minimum cell ([`MIN_PUBLIC_CELL`]).
pub fn protect_feedback_public(r: &FeedbackRelease<'_>) -> FeedbackShown {
    protect_feedback(r, MIN_PUBLIC_CELL)
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
        let h = protect(&c, &s, 5, &[]);
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
        let h = protect(&c, &s, 5, &[]);
        assert_eq!(h, [false, false, true, true, true]);
        // 30 = 26 + 3 + 1: the two small ones are 4 together, so the big one goes too.
        let c = cells(&[30, 26, 3, 1]);
        let s = [Sum {
            total: 0,
            parts: vec![1, 2, 3],
        }];
        assert_eq!(protect(&c, &s, 5, &[]), [false, true, true, true]);
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
        let h = protect(&c, &s, 5, &[]);
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
        let h = protect(&c, &s, 5, &[]);
        assert_eq!(h, [false, false, true, true]);
    }

    #[test]
    fn nothing_is_withheld_without_small_cells() {
        let c = cells(&[20, 10, 10, 0]);
        let s = [Sum {
            total: 0,
            parts: vec![1, 2, 3],
        }];
        assert_eq!(protect(&c, &s, 5, &[]), [false; 4]);
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
            let hidden = protect(&c, &s, 5, &[]);
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
            let hidden = protect(&c, &s, 5, &[]);
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
