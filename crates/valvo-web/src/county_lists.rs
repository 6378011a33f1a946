//! The lists a county configures (incident event types, ombudsperson
//! reasons, supervision topics): entries shared by every county, and each
//! county's own. What the API and the settings pages share: the list as
//! offered in one county, and the county a new entry goes to.

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use valvo_core::access::{offered_in, Principal};
use valvo_core::plan::{ErrorCode, FieldError};
use valvo_core::OrgTree;

use crate::api::{ApiError, ApiResult};

/// `?county=CODE`: the entries offered in that county (shared and its own).
#[derive(Deserialize)]
pub struct CountyQuery {
    pub(crate) county: Option<String>,
}

/// The county a list is asked for (`None`: every entry of every county);
/// a code that is no county is a 404 naming it (as the comparison's
/// `county`).
pub(crate) fn asked_county(tree: &OrgTree, q: &CountyQuery) -> ApiResult<Option<String>> {
    let Some(code) = q.county.as_deref().map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    if tree.roots().iter().any(|r| r.code == code) {
        Ok(Some(code.to_string()))
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("county: no county has the code {code:?}"),
        ))
    }
}

/// Keeps the entries offered in `county` (all with `None`).
pub(crate) fn keep_offered<T>(
    list: &mut Vec<T>,
    county: Option<&str>,
    owner: impl Fn(&T) -> Option<&str>,
) {
    list.retain(|e| offered_in(owner(e), county));
}

/// The code of the county whose own entries `p` works on by default: the
/// county it is scoped to (`None`: the shared entries).
pub(crate) fn own_county(p: &Principal, tree: &OrgTree) -> Option<String> {
    p.own_county(tree)
        .and_then(|c| tree.get(c))
        .map(|n| n.code.clone())
}

/// The county of an entry written through the API: `county` of the body
/// when given (a code, or null for shared), or else the entry's own when it
/// exists, or else the caller's county (`own`). Not a string or null: an
/// error naming `county`.
pub(crate) fn body_county(
    body: &Value,
    existing: Option<Option<&str>>,
    own: Option<String>,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match body.get("county") {
        Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(_) => {
            errors.push(FieldError::new("county", ErrorCode::Invalid));
            None
        }
        None => match existing {
            Some(owner) => owner.map(str::to_string),
            None => own,
        },
    }
}

/// The county whose list `p` works in: that of its scope (`None` without
/// one: every county's entries).
pub(crate) fn view_county(p: &Principal, tree: &OrgTree) -> Option<String> {
    p.scope
        .and_then(|s| tree.county_code(s))
        .map(str::to_string)
}

/// Whether `p` may change an entry of `owner` (a county's code, `None`:
/// shared).
pub(crate) fn may_change(p: &Principal, tree: &OrgTree, owner: Option<&str>) -> bool {
    match owner {
        None => p.may_configure_lists(tree, None),
        Some(code) => tree
            .roots()
            .iter()
            .find(|r| r.code == code)
            .is_some_and(|r| p.may_configure_lists(tree, Some(r.id))),
    }
}

/// Whether a form asks whose a new entry is: a service of several counties,
/// and someone who works for all of them.
pub(crate) fn asks_county(p: &Principal, tree: &OrgTree) -> bool {
    p.scope.is_none() && tree.roots().len() > 1
}

/// The owner of an entry as a list shows it: the county's name, or "every
/// county" for a shared one.
pub(crate) fn owner_label(page: &crate::ctx::Page, tree: &OrgTree, owner: Option<&str>) -> String {
    match owner.and_then(|c| tree.roots().into_iter().find(|r| r.code == c)) {
        Some(r) => crate::oversight_page::plain(page, &r.name),
        None => page.tr.t("list-county-shared"),
    }
}

/// The `county` select of a new entry's form (see [`asks_county`]): shared
/// first, then each county.
pub(crate) fn county_field(
    b: &crate::forms::Builder,
    page: &crate::ctx::Page,
    tree: &OrgTree,
) -> crate::forms::Field {
    let mut f = b.plain("county", crate::forms::InputKind::Select, true);
    f.options = std::iter::once((String::new(), page.tr.t("list-county-shared")))
        .chain(
            tree.roots()
                .iter()
                .map(|r| (r.code.clone(), crate::oversight_page::plain(page, &r.name))),
        )
        .collect();
    f
}

/// The county of a new entry from a form: the `county` chosen where the form
/// asks, or else the caller's own county (`None`: shared).
pub(crate) fn form_county(
    p: &Principal,
    tree: &OrgTree,
    data: &crate::forms::FormData,
) -> Option<String> {
    if asks_county(p, tree) {
        data.get("county")
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
    } else {
        own_county(p, tree)
    }
}

/// An entry's name in a form's list: for someone who works for every county
/// of a service of several (`view` `None`), a county's own entry also names
/// its county, so that it is not chosen for another county's unit.
pub(crate) fn option_label(
    page: &crate::ctx::Page,
    tree: &OrgTree,
    view: Option<&str>,
    name: String,
    owner: Option<&str>,
) -> String {
    match owner {
        Some(_) if view.is_none() && tree.roots().len() > 1 => {
            format!("{name} ({})", owner_label(page, tree, owner))
        }
        _ => name,
    }
}
