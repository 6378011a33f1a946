//! A real SMTP server for the tests: `aiosmtpd` from PyPI (scripts/test
//! installs it), keeping every message it takes in a maildir, read back
//! with Python's own e-mail parser.
#![allow(clippy::zombie_processes)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct SmtpServer {
    child: Child,
    dir: PathBuf,
}

/// A message as the recipient gets it.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Mail {
    pub to: String,
    pub from: String,
    pub subject: String,
    pub body: String,
}

const READ: &str = r#"
import json, mailbox, sys
from email import policy
from email.parser import BytesParser
out = []
box = mailbox.Maildir(sys.argv[1], create=False)
for key in sorted(box.keys()):
    m = BytesParser(policy=policy.default).parsebytes(box.get_bytes(key))
    out.append({"to": str(m["to"]), "from": str(m["from"]), "subject": str(m["subject"]),
                "body": m.get_body(preferencelist=("plain",)).get_content()})
print(json.dumps(out))
"#;

impl SmtpServer {
    /// Starts the server on `port`; its messages go to a new maildir.
    pub fn start(port: u16) -> SmtpServer {
        let dir = std::env::temp_dir().join(format!("valvo-mail-{port}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs aiosmtpd (pip install aiosmtpd; scripts/test does)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return SmtpServer { child, dir };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("aiosmtpd did not start (pip install aiosmtpd; scripts/test does)");
    }

    /// Every message taken so far.
    pub fn messages(&self) -> Vec<Mail> {
        if !self.dir.join("new").exists() {
            return Vec::new();
        }
        let out = Command::new("python3")
            .arg("-c")
            .arg(READ)
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Waits until at least `n` messages have come (30 s at most).
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        for _ in 0..300 {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{n} messages expected, {} came: {:?}",
            self.messages().len(),
            self.messages()
        );
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
