//! A county's branding in the UI: an administrator sets its colour, contact
//! details and logo (`/settings/branding`); its clients' pages, its public
//! pages and its reports show them. Logos are served by their hash
//! (`/branding/logo/{sha256}`), so a logo once published never changes.

use axum::extract::{Multipart, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use valvo_core::access::Role;
use valvo_core::branding::{check_logo, parse_colour, Branding};
use valvo_core::plan::{ErrorCode, FieldError};
use valvo_core::{I18nText, Lang, OrgTree};
use valvo_store::{LogoChange, StoreError};

use crate::ctx::{Page, UiPath};
use crate::error::ErrorKind;
use crate::forms::{Builder, FormData, Group, InputKind};
use crate::html::{escape, BrandHead};
use crate::ui::{form_page, see_other, tree, UiResult};
use crate::AppState;

/// The largest upload the branding form takes (the logo and the texts).
pub const MAX_UPLOAD: usize = valvo_core::branding::LOGO_MAX_BYTES + 64 * 1024;

/// Where a kept logo is served.
pub fn logo_src(sha256: &str) -> String {
    format!("/branding/logo/{sha256}")
}

/// A county's branding as a page in `lang` shows it (`None` when nothing
/// is set).
pub fn head_of(branding: &Branding, name: String, lang: Lang) -> Option<BrandHead> {
    if branding.is_empty() {
        return None;
    }
    Some(BrandHead {
        name,
        logo_src: branding.logo.as_ref().map(|l| logo_src(&l.sha256)),
        colour: branding.colour.clone(),
        contact: contact_lines(&branding.contact, lang),
    })
}

/// The contact text in `lang` (or the next language that has one), line by line.
pub fn contact_lines(contact: &I18nText, lang: Lang) -> Vec<String> {
    contact
        .resolve(lang)
        .map(|r| {
            r.text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The branding of the county `unit` belongs to, for a page's head. A
/// database that does not answer leaves the page unbranded rather than
/// unanswered.
pub(crate) async fn head(
    state: &AppState,
    page: &Page,
    tree: &OrgTree,
    unit: i64,
) -> Option<BrandHead> {
    let root = tree.root_of(unit)?;
    let name = tree
        .get(root)
        .and_then(|n| n.name.resolve(page.lang).map(|r| r.text.to_string()))
        .unwrap_or_default();
    match state.store().branding_at_root(root).await {
        Ok(b) => head_of(&b, name, page.lang),
        Err(e) => {
            tracing::warn!(error = %e, "reading the county's branding failed");
            None
        }
    }
}

/// `GET /branding/logo/{sha256}`: a kept logo. The address names the image,
/// so it may be cached for good. An SVG runs no script, even opened alone.
pub async fn logo(State(state): State<AppState>, UiPath(sha): UiPath<String>) -> Response {
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    match state.store().logo(&sha).await {
        Ok(Some((media_type, data))) => (
            [
                (header::CONTENT_TYPE, media_type),
                (
                    header::CACHE_CONTROL,
                    "public, max-age=31536000, immutable".to_owned(),
                ),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; sandbox".to_owned(),
                ),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            ],
            data,
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// `GET /branding/colour/{rrggbb}.css`: the county's colour as the pages'
/// brand colour (a stylesheet of its own: the pages' policy allows no
/// inline style). Only colours the branding form accepts are served.
pub async fn colour_css(UiPath(file): UiPath<String>) -> Response {
    let colour = file
        .strip_suffix(".css")
        .filter(|h| h.len() == 6)
        .and_then(|h| parse_colour(&format!("#{h}")).ok().flatten());
    match colour {
        Some(c) => (
            [
                (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            format!(":root {{ --c-brand: {c}; }}\n"),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The roots of the tree an administrator may brand.
fn brandable(page: &Page, tree: &OrgTree) -> Result<Vec<i64>, crate::error::UiError> {
    let p = page.principal()?;
    if p.role != Role::Admin {
        return Err(page.error(ErrorKind::Forbidden));
    }
    let roots: Vec<i64> = tree
        .roots()
        .iter()
        .map(|r| r.id)
        .filter(|id| p.can_write(tree, *id))
        .collect();
    if roots.is_empty() {
        return Err(page.error(ErrorKind::Forbidden));
    }
    Ok(roots)
}

/// `GET /settings/branding`: the branding form of the administrator's
/// (first) county; the form links to the others.
pub async fn index(State(state): State<AppState>, page: Page) -> UiResult {
    let tree = tree(&state, &page).await?;
    let roots = brandable(&page, &tree)?;
    Ok(see_other(&format!("/settings/branding/{}", roots[0])))
}

fn root_of_path(page: &Page, tree: &OrgTree, root: i64) -> Result<(), crate::error::UiError> {
    if tree.get(root).is_none_or(|n| n.parent_id.is_some()) {
        return Err(page.error(ErrorKind::NotFound));
    }
    if !brandable(page, tree)?.contains(&root) {
        return Err(page.error(ErrorKind::Forbidden));
    }
    Ok(())
}

fn form_data(b: &Branding) -> FormData {
    let mut d = FormData::new();
    d.insert("brand_colour".into(), b.colour.clone().unwrap_or_default());
    for l in Lang::ALL {
        d.insert(
            format!("brand_contact_{}", l.code()),
            b.contact.get(l).unwrap_or_default().to_owned(),
        );
    }
    d
}

fn branding_form(
    page: &Page,
    tree: &OrgTree,
    root: i64,
    current: &Branding,
    data: FormData,
    errors: &[FieldError],
    saved: bool,
) -> Response {
    let tr = &page.tr;
    let b = Builder::new(tr, data, errors);
    let mut colour = b.plain("brand_colour", InputKind::Text, false);
    colour.input_type = "text";
    let contact = b.i18n("brand_contact", InputKind::Textarea, false);
    let mut logo = b.plain("brand_logo", InputKind::Text, false);
    logo.input_type = "file";
    logo.value = String::new();
    let mut logo_fields = vec![logo];
    if current.logo.is_some() {
        logo_fields.push(b.select("brand_logo_keep", &["keep", "remove"], "brand-logo"));
    }
    let groups = vec![
        Group {
            legend: String::new(),
            fields: vec![colour],
        },
        contact,
        Group {
            legend: tr.t("legend-brand-logo"),
            fields: logo_fields,
        },
    ];
    let mut form = b.form(
        format!("/settings/branding/{root}"),
        "save",
        "/".into(),
        groups,
    );
    form.multipart = true;
    let name = tree
        .get(root)
        .map(|n| crate::html::text_html(tr, &n.name))
        .unwrap_or_default();
    let mut intro = format!(
        "{} <strong>{name}</strong>",
        escape(&tr.t("branding-intro"))
    );
    // A tree with several counties: the others' forms.
    if let Ok(roots) = brandable(page, tree) {
        let others: Vec<String> = roots
            .iter()
            .filter(|id| **id != root)
            .filter_map(|id| tree.get(*id))
            .map(|n| {
                format!(
                    "<a href=\"/settings/branding/{}\">{}</a>",
                    n.id,
                    crate::html::text_html(tr, &n.name)
                )
            })
            .collect();
        if !others.is_empty() {
            intro.push_str(&format!(
                "</p><p>{} {}",
                escape(&tr.t("branding-others")),
                others.join(", ")
            ));
        }
    }
    if saved {
        intro.push_str(&format!(
            "</p><p class=\"notice\" role=\"status\">{}",
            escape(&tr.t("branding-saved"))
        ));
    }
    if let Some(l) = &current.logo {
        intro.push_str(&format!(
            "</p><p>{}<br><img class=\"brand-preview\" src=\"{}\" alt=\"{}\">",
            escape(&tr.t("branding-current-logo")),
            logo_src(&l.sha256),
            escape(&tr.t("branding-logo-alt")),
        ));
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut resp = form_page(page, tr.t("branding-title"), Vec::new(), intro, form);
    *resp.status_mut() = status;
    resp
}

/// `GET /settings/branding/{root}`: the form.
pub async fn edit(
    State(state): State<AppState>,
    page: Page,
    UiPath(root): UiPath<i64>,
) -> UiResult {
    let tree = tree(&state, &page).await?;
    root_of_path(&page, &tree, root)?;
    let current = state
        .store()
        .branding_at_root(root)
        .await
        .map_err(|e| page.error(e))?;
    let saved = page.query.split('&').any(|kv| kv == "saved=1");
    Ok(branding_form(
        &page,
        &tree,
        root,
        &current,
        form_data(&current),
        &[],
        saved,
    ))
}

/// `POST /settings/branding/{root}` (multipart: `csrf`, `brand_colour`,
/// `brand_contact_fi|sv|en`, `brand_logo`, `brand_logo_keep`).
pub async fn save(
    State(state): State<AppState>,
    page: Page,
    UiPath(root): UiPath<i64>,
    mut form: Multipart,
) -> UiResult {
    let bad = |_| page.error(ErrorKind::BadRequest("branding-error-upload"));
    let mut data = FormData::new();
    let mut file: Vec<u8> = Vec::new();
    let mut too_big = false;
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "brand_logo" {
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                if file.len() + chunk.len() > valvo_core::branding::LOGO_MAX_BYTES {
                    too_big = true;
                } else {
                    file.extend_from_slice(&chunk);
                }
            }
        } else {
            data.insert(name, field.text().await.map_err(bad)?);
        }
    }
    page.check_csrf(data.get("csrf"))?;
    let tree = tree(&state, &page).await?;
    root_of_path(&page, &tree, root)?;
    let p = page.principal()?;
    let store = state.store();
    let current = store
        .branding_at_root(root)
        .await
        .map_err(|e| page.error(e))?;
    let mut errors = Vec::new();
    let colour = match parse_colour(data.get("brand_colour").map_or("", |s| s.as_str())) {
        Ok(c) => c,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let get = |l: &str| data.get(&format!("brand_contact_{l}")).cloned();
    let contact = I18nText::new(get("fi"), get("sv"), get("en"));
    if let Err(e) = valvo_core::branding::check_contact(&contact) {
        errors.push(e);
    }
    let logo = if too_big {
        errors.push(FieldError::new("brand_logo", ErrorCode::TooLong));
        LogoChange::Keep
    } else if !file.is_empty() {
        match new_logo(file).await {
            Ok(set) => set,
            Err(e) => {
                errors.push(e);
                LogoChange::Keep
            }
        }
    } else if data.get("brand_logo_keep").map(String::as_str) == Some("remove") {
        LogoChange::Remove
    } else {
        LogoChange::Keep
    };
    if !errors.is_empty() {
        return Ok(branding_form(
            &page, &tree, root, &current, data, &errors, false,
        ));
    }
    match store.set_branding(&p, root, colour, &contact, logo).await {
        Ok(_) => Ok(see_other(&format!("/settings/branding/{root}?saved=1"))),
        Err(StoreError::Invalid(errors)) => Ok(branding_form(
            &page, &tree, root, &current, data, &errors, false,
        )),
        Err(e) => Err(page.error(e)),
    }
}

/// A new logo, checked: its size, its type and that the report can set it
/// (an image it cannot is refused now, not when a report is printed).
async fn new_logo(file: Vec<u8>) -> Result<LogoChange, FieldError> {
    let media_type = check_logo(&file)?.to_owned();
    let (file, renders) = tokio::task::spawn_blocking(move || {
        let renders = valvo_report::logo_renders(&file, &media_type);
        (file, renders)
    })
    .await
    .map_err(|_| FieldError::new("brand_logo", ErrorCode::Invalid))?;
    if renders {
        Ok(LogoChange::Set(file))
    } else {
        Err(FieldError::new("brand_logo", ErrorCode::Invalid))
    }
}

/// The API's name of a branding field: the form's `brand_colour` is
/// `colour`, `brand_contact_fi` is `contact_fi` (as the API names every
/// text's language).
fn api_field(mut e: FieldError) -> FieldError {
    if let Some(name) = e.field.strip_prefix("brand_") {
        e.field = name.to_owned();
    }
    e
}

fn branding_json(root: i64, b: &Branding) -> serde_json::Value {
    serde_json::json!({
        "org_unit": root,
        "colour": b.colour,
        "contact": {
            "fi": b.contact.get(Lang::Fi),
            "sv": b.contact.get(Lang::Sv),
            "en": b.contact.get(Lang::En),
        },
        "logo": b.logo.as_ref().map(|l| serde_json::json!({
            "sha256": l.sha256, "media_type": l.media_type, "url": logo_src(&l.sha256),
        })),
    })
}

/// The root `root` of the tree (404 for any other unit).
async fn api_root(state: &AppState, root: i64) -> crate::api::ApiResult<std::sync::Arc<OrgTree>> {
    let tree = state.store().org_tree().await?;
    if tree.get(root).is_none_or(|n| n.parent_id.is_some()) {
        return Err(StoreError::NotFound.into());
    }
    Ok(tree)
}

/// `GET /api/v1/branding/{root}`: a county's branding (what its public
/// pages show, so any caller may read it).
pub async fn api_get(
    State(state): State<AppState>,
    crate::api::Caller(_): crate::api::Caller,
    crate::api::ApiPath(root): crate::api::ApiPath<i64>,
) -> crate::api::ApiResult<axum::Json<serde_json::Value>> {
    api_root(&state, root).await?;
    let b = state.store().branding_at_root(root).await?;
    Ok(axum::Json(branding_json(root, &b)))
}

/// `PUT /api/v1/branding/{root}`: sets a county's branding (administrators
/// whose scope holds the root), as the settings page does. `colour` and
/// `contact` are replaced as given (absent or null: none); `logo` absent
/// keeps the logo, null removes it, `{"data_base64": …}` sets a new one.
pub async fn api_put(
    State(state): State<AppState>,
    crate::api::Caller(p): crate::api::Caller,
    crate::api::ApiPath(root): crate::api::ApiPath<i64>,
    crate::api::ApiBody(body): crate::api::ApiBody,
) -> crate::api::ApiResult<axum::Json<serde_json::Value>> {
    use base64::Engine;
    use serde_json::Value;
    let tree = api_root(&state, root).await?;
    if p.role != Role::Admin || !p.can_write(&tree, root) {
        return Err(StoreError::Forbidden.into());
    }
    let body = crate::api::json_body(&body)?;
    let mut errors = Vec::new();
    let invalid = |f: &str| FieldError::new(f, ErrorCode::Invalid);
    if let Some(k) = body.as_object().and_then(|o| {
        o.keys()
            .find(|k| !["colour", "contact", "logo"].contains(&k.as_str()))
    }) {
        errors.push(FieldError::new(k.clone(), ErrorCode::Invalid));
    }
    let colour = match body.get("colour") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) => parse_colour(c).unwrap_or_else(|e| {
            errors.push(api_field(e));
            None
        }),
        Some(_) => {
            errors.push(invalid("colour"));
            None
        }
    };
    let mut texts: [Option<String>; 3] = Default::default();
    match body.get("contact") {
        None | Some(Value::Null) => {}
        Some(Value::Object(o)) => {
            for (k, v) in o {
                let at = Lang::parse(k)
                    .filter(|l| l.code() == k)
                    .and_then(|l| Lang::ALL.iter().position(|x| *x == l));
                match (at, v) {
                    (Some(i), Value::String(t)) if !t.trim().is_empty() => {
                        texts[i] = Some(t.clone())
                    }
                    (Some(_), Value::String(_) | Value::Null) => {}
                    _ => errors.push(invalid(&format!("contact_{k}"))),
                }
            }
        }
        Some(_) => errors.push(invalid("contact")),
    }
    let [fi, sv, en] = texts;
    let contact = I18nText::new(fi, sv, en);
    if let Err(e) = valvo_core::branding::check_contact(&contact) {
        errors.push(api_field(e));
    }
    let logo = match body.get("logo") {
        None => LogoChange::Keep,
        Some(Value::Null) => LogoChange::Remove,
        Some(v) => match v
            .get("data_base64")
            .and_then(Value::as_str)
            .map(|d| base64::engine::general_purpose::STANDARD.decode(d.trim()))
        {
            Some(Ok(bytes)) if !bytes.is_empty() => match new_logo(bytes).await {
                Ok(set) => set,
                Err(e) => {
                    errors.push(api_field(e));
                    LogoChange::Keep
                }
            },
            _ => {
                errors.push(invalid("logo"));
                LogoChange::Keep
            }
        },
    };
    if !errors.is_empty() {
        return Err(crate::api::ApiError::invalid(errors));
    }
    match state
        .store()
        .set_branding(&p, root, colour, &contact, logo)
        .await
    {
        Ok(b) => Ok(axum::Json(branding_json(root, &b))),
        Err(StoreError::Invalid(fields)) => Err(crate::api::ApiError::invalid(
            fields.into_iter().map(api_field).collect(),
        )),
        Err(e) => Err(e.into()),
    }
}
