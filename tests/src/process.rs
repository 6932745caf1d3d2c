//! The real `syncd` binary as a child process, for what only a process can show: durability
//! across `kill -9`, graceful shutdown on SIGTERM, the first start without configuration and the
//! subcommands of SPEC §9.
//!
//! The binary comes from Cargo: the suite is an integration test of the `syncd` package (see the
//! crate documentation), so `cargo test` builds the binary first and names it in
//! `CARGO_BIN_EXE_syncd`. `SYNCD_E2E_BINARY=/path/to/syncd` overrides it, e.g. to run the suite
//! against a release build, or to run the test executable without Cargo.
//!
//! Children get a temporary working directory, no inherited `SYNCD_*` variable, a loopback port
//! picked by binding port 0, and are killed when their handle drops. Every wait is bounded.

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use uuid::Uuid;

use crate::{Backend, Client, TestDatabase};

/// Names a `syncd` binary to use instead of the one Cargo built for the suite.
pub const BINARY_ENV: &str = "SYNCD_E2E_BINARY";

/// What Cargo sets, when it runs an integration test of the `syncd` package, to the binary it
/// built for it.
pub const CARGO_BINARY_ENV: &str = "CARGO_BIN_EXE_syncd";

/// How long a server may take to answer `/readyz` after it was started.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

static BINARY: OnceLock<PathBuf> = OnceLock::new();

/// The `syncd` binary: [`BINARY_ENV`] if set, else the one Cargo built ([`CARGO_BINARY_ENV`]).
pub fn syncd_binary() -> &'static Path {
    BINARY.get_or_init(locate)
}

fn locate() -> PathBuf {
    let (var, path) = [BINARY_ENV, CARGO_BINARY_ENV]
        .into_iter()
        .find_map(|var| {
            std::env::var_os(var)
                .filter(|p| !p.is_empty())
                .map(|p| (var, PathBuf::from(p)))
        })
        .unwrap_or_else(|| {
            panic!(
                "neither {BINARY_ENV} nor {CARGO_BINARY_ENV} is set: run the suite with \
                 `cargo test -p syncd --test e2e` (Cargo builds the binary and names it), or set \
                 {BINARY_ENV}=/path/to/syncd"
            )
        });
    assert!(path.is_file(), "{var}={} is not a file", path.display());
    path
}

/// Text read so far from a pipe, and whether the pipe has closed.
type Captured = Arc<Mutex<(String, bool)>>;

/// Reads a pipe into a shared string on a thread of its own.
fn drain(pipe: Option<impl Read + Send + 'static>) -> Captured {
    let captured: Captured = Arc::new(Mutex::new((String::new(), false)));
    let sink = Arc::clone(&captured);
    std::thread::spawn(move || {
        if let Some(mut pipe) = pipe {
            let mut buf = [0u8; 8192];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let chunk = String::from_utf8_lossy(&buf[..n]).into_owned();
                        if let Ok(mut c) = sink.lock() {
                            c.0.push_str(&chunk);
                        }
                    }
                }
            }
        }
        if let Ok(mut c) = sink.lock() {
            c.1 = true;
        }
    });
    captured
}

fn text(captured: &Captured) -> String {
    captured.lock().map(|c| c.0.clone()).unwrap_or_default()
}

/// Waits (at most 5 s) until the pipe has closed, so that the text is complete.
fn wait_until_drained(captured: &Captured) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if captured.lock().map(|c| c.1).unwrap_or(true) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A free loopback port: bind port 0, read the port, release it. Another process may take it
/// before the child binds it; [`ServerSpec::start`] retries on that collision.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("cannot bind a loopback port: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("no local address: {e}"))
        .port()
}

/// A temporary directory, removed with everything in it on drop.
pub struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    pub fn new() -> Self {
        let path = std::env::temp_dir().join(format!("syncd-proc-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes a file in the directory and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.join(name);
        std::fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// A SQLite URL for a database file in this directory.
    pub fn sqlite_url(&self, name: &str) -> String {
        format!("sqlite://{}?mode=rwc", self.join(name).display())
    }
}

impl Default for WorkDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A database for a process test: a SQLite file, or a PostgreSQL database of its own (created
/// on the server named by `SYNCD_TEST_DATABASE_URL`, dropped on drop).
pub struct Database {
    inner: TestDatabase,
    url: String,
}

impl Database {
    pub async fn create(backend: Backend) -> Self {
        let (inner, url) = TestDatabase::create(backend).await;
        Self { inner, url }
    }

    /// The URL the server connects with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// PostgreSQL only: makes this one database unreachable (no new connections, existing ones
    /// terminated) or reachable again. The PostgreSQL server and every other database stay up.
    pub async fn set_reachable(&self, reachable: bool) {
        self.inner.set_reachable(reachable).await;
    }
}

/// The result of a subcommand that ran to its end.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// A `syncd` command line about to run: working directory set, no inherited `SYNCD_*`
/// variable.
pub struct Syncd {
    cmd: Command,
    line: String,
}

/// `syncd` run in `cwd`.
pub fn syncd(cwd: &Path) -> Syncd {
    let mut cmd = Command::new(syncd_binary());
    cmd.current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SYNCD_") {
            cmd.env_remove(name);
        }
    }
    Syncd {
        cmd,
        line: "syncd".to_owned(),
    }
}

impl Syncd {
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.line.push(' ');
        self.line.push_str(&arg.as_ref().to_string_lossy());
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(name, value);
        self
    }

    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.cmd.envs(vars);
        self
    }

    /// Starts the process.
    pub fn spawn(mut self) -> Process {
        let mut child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{}`: {e}", self.line));
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        Process {
            child,
            stdout,
            stderr,
            status: None,
            line: self.line,
        }
    }

    /// Runs the command to its end (killed after `timeout`, which fails the test).
    pub async fn run(self, timeout: Duration) -> Finished {
        let mut process = self.spawn();
        let status = process.wait_exit(timeout).await.unwrap_or_else(|| {
            panic!(
                "`{}` did not exit within {timeout:?}\n{}",
                process.line,
                process.output()
            )
        });
        Finished {
            status,
            stdout: process.stdout(),
            stderr: process.stderr(),
        }
    }
}

/// A running (or finished) child; killed on drop.
pub struct Process {
    child: Child,
    stdout: Captured,
    stderr: Captured,
    status: Option<ExitStatus>,
    line: String,
}

impl Process {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The command line, for messages.
    pub fn line(&self) -> &str {
        &self.line
    }

    pub fn stdout(&self) -> String {
        text(&self.stdout)
    }

    pub fn stderr(&self) -> String {
        text(&self.stderr)
    }

    /// Both streams, labelled, for failure messages.
    pub fn output(&self) -> String {
        format!(
            "--- stdout of `{}`\n{}\n--- stderr\n{}",
            self.line,
            self.stdout(),
            self.stderr()
        )
    }

    /// The exit status, if the process has exited (output then complete).
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            wait_until_drained(&self.stdout);
            wait_until_drained(&self.stderr);
            self.status = Some(status);
        }
        self.status
    }

    /// Waits at most `timeout` for the process to exit.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends a signal by name (`TERM`, `INT`, `KILL`) with `kill(1)`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.pid().to_string()])
            .stdin(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot run `kill -s {name}`: {e}"));
        assert!(status.success(), "`kill -s {name} {}` failed", self.pid());
    }

    /// `kill -9`, then waits (at most 10 s) for the process to be gone.
    pub async fn kill9(&mut self) {
        if self.status.is_some() {
            return;
        }
        let _ = self.child.kill();
        if self.wait_exit(Duration::from_secs(10)).await.is_none() {
            panic!("`{}` survived SIGKILL for 10 s", self.line);
        }
    }

    /// Waits at most `timeout` for stdout to satisfy `pred`; returns whether it did.
    pub async fn wait_for_stdout(
        &mut self,
        pred: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if pred(&self.stdout()) {
                return true;
            }
            if self.try_status().is_some() {
                return pred(&self.stdout());
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How to start a server process; reusable to restart it on the same database.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
}

impl ServerSpec {
    /// `syncd` in `cwd` with these environment variables (besides `SYNCD_BIND`, which
    /// [`ServerSpec::start`] sets).
    pub fn new(cwd: &Path, env: &[(&str, &str)]) -> Self {
        Self {
            cwd: cwd.to_path_buf(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            args: Vec::new(),
        }
    }

    /// A server on `database` with an HS256 `secret`, in `cwd`.
    pub fn with_database(cwd: &Path, database_url: &str, secret: &str) -> Self {
        Self::new(
            cwd,
            &[
                ("SYNCD_DATABASE_URL", database_url),
                ("SYNCD_JWT_SECRET", secret),
            ],
        )
    }

    /// Starts the server on a free loopback port and waits until `/readyz` answers 200. A port
    /// taken between choosing and binding it is retried with another.
    pub async fn start(&self) -> Server {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_else(|e| panic!("cannot build an HTTP client: {e}"));
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let address = format!("http://127.0.0.1:{port}");
            let mut process = syncd(&self.cwd)
                .args(&self.args)
                .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .env("SYNCD_BIND", format!("127.0.0.1:{port}"))
                .spawn();
            match wait_ready(&http, &address, &mut process).await {
                Ready::Yes => {
                    return Server {
                        process,
                        port,
                        address,
                        http,
                    };
                }
                Ready::Exited(status) => {
                    let output = process.output();
                    if output.contains("in use") {
                        last = output;
                        continue;
                    }
                    panic!("the server exited ({status}) before it was ready\n{output}");
                }
                Ready::TimedOut => panic!(
                    "the server was not ready within {START_TIMEOUT:?}\n{}",
                    process.output()
                ),
            }
        }
        panic!("no free port after 5 attempts; last attempt:\n{last}");
    }
}

enum Ready {
    Yes,
    Exited(ExitStatus),
    TimedOut,
}

async fn wait_ready(http: &reqwest::Client, address: &str, process: &mut Process) -> Ready {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = process.try_status() {
            return Ready::Exited(status);
        }
        if let Ok(r) = http
            .get(format!("{address}/readyz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            && r.status().is_success()
        {
            return Ready::Yes;
        }
        if Instant::now() >= deadline {
            return Ready::TimedOut;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A `syncd serve` child on a loopback port; killed on drop.
pub struct Server {
    process: Process,
    pub port: u16,
    /// `http://127.0.0.1:<port>`
    pub address: String,
    http: reqwest::Client,
}

impl Server {
    /// The child process.
    pub fn process(&mut self) -> &mut Process {
        &mut self.process
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A typed client sending this bearer token (the suite's [`Client`]).
    pub fn client(&self, token: &str) -> Client {
        Client {
            http: self.http.clone(),
            base: self.address.clone(),
            token: Some(token.to_owned()),
            headers: Vec::new(),
        }
    }

    /// A client that sends no `Authorization` header.
    pub fn anonymous(&self) -> Client {
        Client {
            http: self.http.clone(),
            base: self.address.clone(),
            token: None,
            headers: Vec::new(),
        }
    }

    /// `kill -9` and wait for the process to be gone.
    pub async fn kill9(mut self) {
        self.process.kill9().await;
    }

    /// Everything the server printed so far.
    pub fn output(&self) -> String {
        self.process.output()
    }
}

/// The bearer token of a development server's start banner (`export TOKEN=…`).
pub fn banner_token(stdout: &str) -> Option<String> {
    stdout.lines().find_map(|line| {
        line.trim()
            .strip_prefix("export TOKEN=")
            .map(|t| t.trim().to_owned())
    })
}

/// The claims of a JWT, decoded without checking the signature.
pub fn jwt_claims(token: &str) -> Value {
    let payload = token
        .split('.')
        .nth(1)
        .unwrap_or_else(|| panic!("not a JWT: {token:?}"));
    let bytes = base64url_decode(payload).unwrap_or_else(|| panic!("not base64url: {payload:?}"));
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("the JWT payload is not JSON ({e}): {token:?}"))
}

fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            b'=' => continue,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_decoding_inverts_encoding() {
        for sample in [&b""[..], b"f", b"fo", b"foo", b"foob", &[0xfb, 0xff]] {
            assert_eq!(
                base64url_decode(&crate::base64url(sample)).as_deref(),
                Some(sample)
            );
        }
    }

    #[test]
    fn the_banner_token_is_found() {
        let out = "log line\n\n  export TOKEN=abc.def.ghi\n\nTry it:";
        assert_eq!(banner_token(out).as_deref(), Some("abc.def.ghi"));
        assert_eq!(banner_token("nothing"), None);
    }
}
