//! A throwaway PostgreSQL cluster for outage tests: `initdb` into a temporary directory, a
//! server on a free loopback port, and the faults an operator meets: a clean stop, a restart,
//! and a freeze (SIGSTOP of every process of the cluster, as a network partition looks to its
//! clients). Only the processes of this cluster are ever signalled, by pid.
//!
//! Dropping the cluster always thaws it and stops it (`pg_ctl stop -m immediate`) and removes
//! its directory, also when the test fails. The shared PostgreSQL service is never touched.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use uuid::Uuid;

/// A running (or stopped, or frozen) cluster of this test.
pub struct PgCluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
    frozen: Vec<u32>,
}

/// The directory of `initdb` and `pg_ctl`: the newest `/usr/lib/postgresql/*/bin`, else the
/// directory of a `pg_ctl` on the `PATH`.
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").is_file() && p.join("pg_ctl").is_file())
        .collect();
    versions.sort();
    if let Some(newest) = versions.pop() {
        return Some(newest);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|p| p.join("pg_ctl").is_file() && p.join("initdb").is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl PgCluster {
    /// Creates and starts a cluster, or says why it cannot (no PostgreSQL binaries, `initdb`
    /// refused): the caller then skips its test with that message.
    pub fn start() -> Result<PgCluster, String> {
        let bin = bin_dir().ok_or("no PostgreSQL binaries (initdb, pg_ctl) found")?;
        let dir = std::env::temp_dir().join(format!("syncd-pg-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        // initdb refuses to run as root; the cluster then belongs to the postgres user.
        let as_postgres = is_root();
        let cluster = PgCluster {
            bin,
            dir,
            port: crate::process::free_port(),
            as_postgres,
            frozen: Vec::new(),
        };
        if as_postgres {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&cluster.dir)
                .status()
                .map_err(|e| format!("cannot run chown: {e}"))?;
            if !owned.success() {
                return Err(format!("chown postgres {} failed", cluster.dir.display()));
            }
        }
        let data = cluster.data().display().to_string();
        let initdb = cluster.bin.join("initdb").display().to_string();
        cluster.run(
            &initdb,
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            true,
        )?;
        cluster.pg_ctl_start()?;
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs a program (as the postgres user when `as_cluster_owner` and running as root).
    fn run(&self, program: &str, args: &[&str], as_cluster_owner: bool) -> Result<(), String> {
        let mut cmd = if as_cluster_owner && self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", program]);
            c
        } else {
            Command::new(program)
        };
        cmd.args(args);
        let out = cmd
            .stdin(Stdio::null())
            .current_dir(&self.dir)
            .output()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} {args:?} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let pg_ctl = self.bin.join("pg_ctl").display().to_string();
        let data = self.data().display().to_string();
        let mut all = vec!["-D", data.as_str()];
        all.extend_from_slice(args);
        self.run(&pg_ctl, &all, true)
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        self.pg_ctl(&["-o", &options, "-l", &log, "-w", "-t", "60", "start"])
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`, without TLS.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }

    /// A clean, fast shutdown: clients are disconnected, new connections refused.
    pub fn stop(&self) {
        if let Err(e) = self.pg_ctl(&["-m", "fast", "-w", "stop"]) {
            panic!("pg_ctl stop: {e}");
        }
    }

    /// Starts the stopped cluster again on the same port.
    pub fn restart(&self) {
        if let Err(e) = self.pg_ctl_start() {
            panic!("pg_ctl start: {e}");
        }
    }

    /// The postmaster and its children.
    fn pids(&self) -> Vec<u32> {
        let Ok(text) = std::fs::read_to_string(self.data().join("postmaster.pid")) else {
            return Vec::new();
        };
        let Some(master) = text
            .lines()
            .next()
            .and_then(|l| l.trim().parse::<u32>().ok())
        else {
            return Vec::new();
        };
        let mut pids = vec![master];
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // `pid (comm) state ppid …`; comm may hold spaces, so read after the last ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(master) {
                pids.push(pid);
            }
        }
        pids
    }

    fn signal(pids: &[u32], signal: &str) {
        if pids.is_empty() {
            return;
        }
        let mut cmd = Command::new("kill");
        cmd.arg("-s").arg(signal);
        for pid in pids {
            cmd.arg(pid.to_string());
        }
        let _ = cmd.stdin(Stdio::null()).stderr(Stdio::null()).status();
    }

    /// SIGSTOP to every process of the cluster: connections stay open, nothing answers.
    pub fn freeze(&mut self) {
        let pids = self.pids();
        assert!(!pids.is_empty(), "the cluster has no processes to freeze");
        Self::signal(&pids, "STOP");
        self.frozen.extend(pids);
    }

    /// SIGCONT to every process [`PgCluster::freeze`] stopped.
    pub fn thaw(&mut self) {
        let pids = std::mem::take(&mut self.frozen);
        Self::signal(&pids, "CONT");
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.thaw();
        let _ = self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
