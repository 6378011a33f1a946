//! The log's way to stderr. Warnings and errors are written at once; the
//! lines below them (a line per request) are gathered and written together
//! every [`FLUSH_EVERY`], so that a busy server makes a few writes a second
//! instead of one system call per request (under 64 clients sending
//! answers, the server answered about a tenth more a second with the
//! request log off than with a line written per request). The
//! order of lines is kept: a warning (or a panic's message) first writes
//! the lines gathered before it, and the process writes what is left
//! before it exits.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// How long a gathered line waits at most (unless the process is killed).
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Gathered lines beyond this are written at once by the line that fills it.
const GATHER_MAX: usize = 64 * 1024;

static GATHERED: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Writes the gathered lines. Whoever writes holds stderr's lock from
/// before taking them until they are written, so that lines leave in the
/// order they came.
pub fn flush() {
    let mut err = std::io::stderr().lock();
    write_gathered(&mut err);
    let _ = err.flush();
}

fn write_gathered(err: &mut std::io::StderrLock<'_>) {
    let lines = std::mem::take(&mut *GATHERED.lock().unwrap_or_else(|e| e.into_inner()));
    if !lines.is_empty() {
        let _ = err.write_all(&lines);
    }
}

/// Starts the thread that writes the gathered lines, and has a panic's
/// message written after them.
pub fn start() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        flush();
        report(info);
    }));
    let started = std::thread::Builder::new()
        .name("valvo-log".into())
        .spawn(|| loop {
            std::thread::sleep(FLUSH_EVERY);
            flush();
        });
    if started.is_err() {
        // Without the thread every line goes out at once.
        IMMEDIATE.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

static IMMEDIATE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The writer `tracing_subscriber` formats each line into (one `write` a
/// line).
pub struct Stderr;

pub enum Line {
    Gathered,
    AtOnce,
}

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Line::Gathered => {
                let mut gathered = GATHERED.lock().unwrap_or_else(|e| e.into_inner());
                gathered.extend_from_slice(buf);
                if gathered.len() >= GATHER_MAX {
                    drop(gathered);
                    flush();
                }
            }
            Line::AtOnce => {
                let mut err = std::io::stderr().lock();
                write_gathered(&mut err);
                err.write_all(buf)?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line::AtOnce
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Line {
        // `WARN` and `ERROR` are the levels at or below `WARN`.
        if *meta.level() <= Level::WARN || IMMEDIATE.load(std::sync::atomic::Ordering::Relaxed) {
            Line::AtOnce
        } else {
            Line::Gathered
        }
    }
}
