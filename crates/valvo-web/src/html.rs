//! Shared pieces of every HTML page: the layout, escaping, localized texts,
//! numbers and status badges, and the stylesheet.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use valvo_core::access::Role;
use valvo_core::{format_number, I18nText, Lang, Status};

use crate::ctx::Page;
use crate::i18n::Tr;

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query-string value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What the base template needs on every page.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Translator (and language).
    pub tr: Tr,
    /// Page title (also the `<h1>` on most pages).
    pub title: String,
    /// Display name of the logged-in user.
    pub user_name: Option<String>,
    /// Whether the user is an administrator (shows the audit link).
    pub admin: bool,
    /// Whether the user is an administrator who may set the county's
    /// branding (shows that link).
    pub branding: bool,
    /// Whether the user records ombudsperson contacts (shows that link).
    pub ombudsman: bool,
    /// Whether the user follows supervision visits (shows that link).
    pub supervision: bool,
    /// Whether the user works in a county (the staff menu: incidents,
    /// feedback, figures, imports); the national role reads statistics only.
    pub staff: bool,
    /// The session's form token.
    pub csrf: String,
    /// On a client's page (the public report form, a feedback answer, a
    /// receipt): the county's name, shown in place of the staff menu.
    pub client: Option<String>,
    /// Said before the title in the browser's tab and history, not in the
    /// heading ("There are errors in the form").
    pub title_prefix: Option<String>,
    /// The county's branding on its clients' and public pages.
    pub brand: Option<BrandHead>,
    /// Path and query without `lang`, for the language links.
    path: String,
    query: String,
}

/// A county's branding as a page shows it.
#[derive(Clone, Debug, Default)]
pub struct BrandHead {
    /// The county's name in the page's language.
    pub name: String,
    /// Where its logo is served.
    pub logo_src: Option<String>,
    /// `#rrggbb`.
    pub colour: Option<String>,
    /// Contact lines in the page's language.
    pub contact: Vec<String>,
}

impl Layout {
    /// Layout for a request.
    pub fn new(page: &Page, title: impl Into<String>) -> Self {
        Layout {
            tr: page.tr.clone(),
            title: title.into(),
            user_name: page.user.as_ref().map(|u| u.name.clone()),
            admin: page
                .user
                .as_ref()
                .map(|u| u.principal().can_read_audit())
                .unwrap_or(false),
            branding: page.user.as_ref().is_some_and(|u| u.role == Role::Admin),
            ombudsman: page
                .user
                .as_ref()
                .is_some_and(|u| matches!(u.role, Role::Ombudsperson | Role::Admin)),
            supervision: page.user.as_ref().is_some_and(|u| {
                matches!(
                    u.role,
                    Role::Supervisor | Role::QualityCoordinator | Role::Admin | Role::AreaManager
                )
            }),
            staff: page.user.as_ref().is_some_and(|u| u.role != Role::National),
            csrf: page.csrf.clone(),
            client: None,
            title_prefix: None,
            brand: None,
            path: page.path.clone(),
            query: page.query.clone(),
        }
    }

    /// Layout of a page for clients, relatives and anyone without an
    /// account: the county's name heads it and no staff menu shows.
    pub fn client(page: &Page, title: impl Into<String>, county: crate::ui::County) -> Self {
        let mut l = Layout::new(page, title);
        l.client = Some(county.name);
        l.brand = county.brand;
        l
    }

    /// The stylesheet of the county's colour for links and buttons, when
    /// it has one.
    pub fn brand_css(&self) -> Option<String> {
        self.brand
            .as_ref()
            .and_then(|b| b.colour.as_deref())
            .map(|c| format!("/branding/colour/{}.css", c.trim_start_matches('#')))
    }

    /// Layout without a request (error pages).
    pub fn bare(lang: Lang) -> Self {
        Layout {
            tr: Tr::new(lang),
            title: String::new(),
            user_name: None,
            admin: false,
            branding: false,
            ombudsman: false,
            supervision: false,
            staff: false,
            csrf: String::new(),
            client: None,
            title_prefix: None,
            brand: None,
            path: "/".into(),
            query: String::new(),
        }
    }

    /// A UI string.
    pub fn t(&self, key: &str) -> String {
        self.tr.t(key)
    }

    /// The page language code.
    pub fn lang(&self) -> &'static str {
        self.tr.lang().code()
    }

    /// Link to this page in another language.
    pub fn lang_link(&self, code: &str) -> String {
        if self.query.is_empty() {
            format!("{}?lang={code}", self.path)
        } else {
            format!("{}?{}&lang={code}", self.path, self.query)
        }
    }

    /// Whether `code` is the current language.
    pub fn is_lang(&self, code: &str) -> bool {
        self.lang() == code
    }

    /// Whether someone is logged in.
    pub fn logged_in(&self) -> bool {
        self.user_name.is_some()
    }

    /// The logged-in user's name.
    pub fn user(&self) -> &str {
        self.user_name.as_deref().unwrap_or("")
    }
}

/// A multilingual text as HTML in the reader's language: a fallback language is
/// marked with its `lang` attribute and a visible note; a text missing in every
/// language says so.
pub fn text_html(tr: &Tr, text: &I18nText) -> String {
    match text.resolve(tr.lang()) {
        Some(r) if !r.fallback => escape(r.text),
        Some(r) => format!(
            "<span lang=\"{}\">{}</span> <span class=\"fallback\">({})</span>",
            r.lang.code(),
            escape(r.text),
            escape(&tr.t(&format!("fallback-{}", r.lang.code())))
        ),
        None => format!(
            "<span class=\"missing\">{}</span>",
            escape(&tr.t("text-missing"))
        ),
    }
}

/// Like [`text_html`] but as paragraphs (blank lines separate them).
pub fn paragraphs_html(tr: &Tr, text: &I18nText) -> String {
    match text.resolve(tr.lang()) {
        Some(r) => {
            let lang_attr = if r.fallback {
                format!(" lang=\"{}\"", r.lang.code())
            } else {
                String::new()
            };
            let mut out = String::new();
            for para in r
                .text
                .split("\n\n")
                .map(str::trim)
                .filter(|p| !p.is_empty())
            {
                out.push_str(&format!(
                    "<p{lang_attr}>{}</p>",
                    escape(para).replace('\n', "<br>")
                ));
            }
            if r.fallback {
                out.push_str(&format!(
                    "<p class=\"fallback\">({})</p>",
                    escape(&tr.t(&format!("fallback-{}", r.lang.code())))
                ));
            }
            out
        }
        None => String::new(),
    }
}

/// Paragraphs of one language exactly (the bilingual view): empty if missing.
pub fn paragraphs_in(text: &I18nText, lang: Lang, tr: &Tr) -> String {
    match text.get(lang) {
        Some(t) => t
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>")))
            .collect(),
        None => format!(
            "<p class=\"missing\">{}</p>",
            escape(&tr.t("text-missing-lang"))
        ),
    }
}

/// A number in the reader's convention, or a dash.
pub fn num(v: Option<f64>, lang: Lang) -> String {
    v.map(|x| format_number(x, lang))
        .unwrap_or_else(|| "–".to_string())
}

/// A status badge: a symbol and a word, never colour alone.
pub fn status_html(tr: &Tr, s: Status) -> String {
    let symbol = match s {
        Status::Met => "✓",
        Status::OnTheWay => "↗",
        Status::OffTrack => "✗",
        Status::NoData | Status::NoTarget => "–",
    };
    format!(
        "<span class=\"status status-{code}\"><span aria-hidden=\"true\">{symbol}</span> {label}</span>",
        code = s.code(),
        label = escape(&tr.t(&format!("status-{}", s.code())))
    )
}

/// The stylesheet (also inlined into standalone report files).
pub const STYLE: &str = include_str!("../static/style.css");

/// `GET /static/fonts/{file}`: the typeface the PDFs embed (Inter), so the
/// pages and the documents look alike.
pub async fn font(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    match valvo_report::fonts::font(&file) {
        Some(bytes) => (
            [
                (header::CONTENT_TYPE, "font/otf"),
                (header::CACHE_CONTROL, "public, max-age=604800"),
            ],
            bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /static/style.css`
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE,
    )
}
