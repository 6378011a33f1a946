//! A real OpenID provider for the tests: the certified `oidc-provider` from
//! npm (tests/oidc-provider at the top of the repository; `npm ci` there,
//! which scripts/test does), run by Node.js on a free port.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Client, Response, StatusCode};

pub const CLIENT_ID: &str = "valvo-test";
pub const CLIENT_SECRET: &str = "a-client-secret-of-the-test-provider-0123456789";

pub struct Provider {
    child: Child,
    pub port: u16,
}

/// A port nobody listens on just now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc-provider")
}

impl Provider {
    /// Starts the provider on `port` for a client whose redirect URI is
    /// `redirect_uri`; `accounts` is JSON {login: {email, email_verified,
    /// name, groups}}; `key_id` names its fresh signing key.
    pub fn start(
        port: u16,
        redirect_uri: &str,
        accounts: &serde_json::Value,
        key_id: &str,
    ) -> Provider {
        let dir = dir();
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "the test OpenID provider is not installed: run `npm ci` in tests/oidc-provider (scripts/test does)"
        );
        let client = serde_json::json!({
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": redirect_uri,
        });
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(&dir)
            .env("OIDC_PORT", port.to_string())
            .env("OIDC_CLIENT", client.to_string())
            .env("OIDC_ACCOUNTS", accounts.to_string())
            .env("OIDC_KEY_ID", key_id)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node (Node.js) runs the test OpenID provider");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("listening") {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = child.kill();
            panic!("the test OpenID provider did not start");
        }
        Provider { child, port }
    }

    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
    }
}

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_string()
    } else {
        let origin: String = {
            let after = base.find("://").map(|i| i + 3).unwrap_or(0);
            let end = base[after..]
                .find('/')
                .map(|i| after + i)
                .unwrap_or(base.len());
            base[..end].to_string()
        };
        format!("{origin}{location}")
    }
}

fn form_action(html: &str) -> Option<String> {
    let start = html.find("action=\"")? + "action=\"".len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].replace("&amp;", "&"))
}

/// What a browser does between Valvo and the provider: follows redirects,
/// and at the provider's sign-in page signs in as `login` (any password;
/// consent when asked). Returns every URL visited and the last response
/// (the one that is no redirect, or Valvo's redirect after the callback).
pub async fn browse(c: &Client, start: &str, valvo: &str, login: &str) -> (Vec<String>, Response) {
    let mut url = start.to_string();
    let mut visited = Vec::new();
    for _ in 0..20 {
        visited.push(url.clone());
        let r = c.get(&url).send().await.unwrap();
        let at_callback = url.starts_with(&format!("{valvo}/login/sso/callback"));
        if at_callback || !(r.status().is_redirection() || r.status() == StatusCode::OK) {
            return (visited, r);
        }
        if r.status().is_redirection() {
            let location = r.headers()["location"].to_str().unwrap().to_string();
            url = absolute(&url, &location);
            continue;
        }
        if url.starts_with(valvo) {
            return (visited, r);
        }
        // The provider's own page: sign in, or consent.
        let html = r.text().await.unwrap();
        let action = absolute(&url, &form_action(&html).expect("a form at the provider"));
        let fields: Vec<(&str, &str)> = if html.contains("name=\"prompt\" value=\"login\"") {
            vec![("prompt", "login"), ("login", login), ("password", "any")]
        } else {
            vec![("prompt", "consent")]
        };
        let r = c.post(&action).form(&fields).send().await.unwrap();
        assert!(
            r.status().is_redirection(),
            "the provider's form answers a redirect: {}",
            r.status()
        );
        let location = r.headers()["location"].to_str().unwrap().to_string();
        url = absolute(&action, &location);
    }
    panic!("too many redirects: {visited:?}");
}
