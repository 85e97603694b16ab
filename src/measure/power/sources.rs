//! The power sources, and which one a run uses: a user's `--power-command`, else the
//! Linux hwmon files under the adapter's PCI device, else `nvidia-smi` for the GPU with
//! that bus id; none where none applies (the figures stay nameplate).

use std::io::{BufRead, BufReader, ErrorKind};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::{Duration, Instant};

use super::{Fault, PowerSource, Reading, SourceInfo};

/// `nvidia-smi`'s sampling interval (`-lms`), milliseconds.
pub const NVIDIA_SMI_MS: u32 = 20;

/// A command (or `nvidia-smi`) that prints nothing for this long is killed.
pub const HANG_TIMEOUT: Duration = Duration::from_secs(3);

/// The sysfs root: `/`, or `FLOPCOST_SYSFS_ROOT` (a fake tree, for tests).
fn sysfs_root() -> PathBuf {
    std::env::var_os("FLOPCOST_SYSFS_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// `0000:01:00.0` from `00000000:01:00.0`, `0000:01:00.0` or `01:00.0`, lowercased; `None`
/// when it is not a PCI address.
pub fn normalise_bus_id(id: &str) -> Option<String> {
    let id = id.trim().to_ascii_lowercase();
    let parts: Vec<&str> = id.split(':').collect();
    let (domain, bus, devfn) = match parts.as_slice() {
        [d, b, f] => (*d, *b, *f),
        [b, f] => ("0000", *b, *f),
        _ => return None,
    };
    let hex = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit());
    let (dev, func) = devfn.split_once('.')?;
    if !(hex(domain) && hex(bus) && hex(dev) && hex(func)) || domain.len() > 8 {
        return None;
    }
    let domain = format!("{:0>4}", &domain[domain.len().saturating_sub(4)..]);
    Some(format!("{domain}:{bus:0>2}:{dev:0>2}.{func}"))
}

/// What a run asked of power measurement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PowerOptions {
    /// `--no-power`: sample nothing.
    pub disabled: bool,
    /// `--power-command CMD`.
    pub command: Option<String>,
    /// `--power-pci BUSID`: the PCI device whose sensors to read, where the adapter does
    /// not report its own (software adapters, GL).
    pub pci: Option<String>,
}

/// The source a run uses, or why it has none; warnings met on the way (a sensor whose
/// permission was refused, say).
pub struct Choice {
    pub source: Result<Box<dyn PowerSource>, String>,
    pub warnings: Vec<String>,
}

/// Picks the source for an adapter with PCI bus id `bus` (empty when it reports none)
/// and vendor id `vendor`.
pub fn choose(opts: &PowerOptions, bus: &str, vendor: u32) -> Choice {
    let mut warnings = Vec::new();
    if opts.disabled {
        return Choice {
            source: Err("--no-power".into()),
            warnings,
        };
    }
    if let Some(cmd) = &opts.command {
        return Choice {
            source: Ok(Box::new(Stream::command(cmd))),
            warnings,
        };
    }
    let bus = opts.pci.as_deref().unwrap_or(bus);
    let Some(bus) = normalise_bus_id(bus) else {
        return Choice {
            source: Err(if bus.is_empty() {
                "the adapter reports no PCI bus id to find its sensors by (give --power-pci \
                 BUSID or --power-command CMD)"
                    .into()
            } else {
                format!("'{bus}' is not a PCI bus id")
            }),
            warnings,
        };
    };
    match Hwmon::find(&sysfs_root(), &bus) {
        Ok(h) => {
            return Choice {
                source: Ok(Box::new(h)),
                warnings,
            };
        }
        Err(Some(w)) => warnings.push(format!("power: {w}")),
        Err(None) => {}
    }
    if vendor == 0x10de || opts.pci.is_some() {
        match Stream::nvidia_smi(&bus) {
            Ok(s) => {
                return Choice {
                    source: Ok(Box::new(s)),
                    warnings,
                };
            }
            Err(Some(w)) => warnings.push(format!("power: {w}")),
            Err(None) => {}
        }
    }
    Choice {
        source: Err(format!(
            "no power sensor found for the PCI device {bus} (no readable hwmon power or \
             energy file, no nvidia-smi for it; --power-command CMD gives one)"
        )),
        warnings,
    }
}

/// Where a hwmon file ranks among a device's sensors (lower is preferred), `None` when it
/// is no power or energy reading: amdgpu's `power1_average`, `power1_input`, i915/xe's
/// `energy1_input`, then any other `power*_average`, `power*_input` or `energy*_input`.
fn sensor_rank(name: &str) -> Option<u32> {
    match name {
        "power1_average" => Some(0),
        "power1_input" => Some(1),
        "energy1_input" => Some(2),
        n if n.starts_with("power") && n.ends_with("_average") => Some(3),
        n if n.starts_with("power") && n.ends_with("_input") => Some(4),
        n if n.starts_with("energy") && n.ends_with("_input") => Some(5),
        _ => None,
    }
}

/// One hwmon folder of a machine (`/sys/class/hwmon/hwmon*`): its driver name, the PCI
/// device it belongs to (if any), and each power or energy file with what reading it gave.
#[derive(Clone, Debug)]
pub struct HwmonFolder {
    pub path: PathBuf,
    pub name: String,
    /// The PCI bus id of its device, where the device is a PCI one.
    pub pci: Option<String>,
    /// Its power and energy files ([`sensor_rank`]): the raw whole number, or why none
    /// was read.
    pub files: Vec<(String, Result<u64, String>)>,
}

/// Every hwmon folder under `root`'s `sys/class/hwmon`, with its power and energy files
/// read once: what a machine offers, whichever adapter a run picks.
pub fn survey(root: &Path) -> Vec<HwmonFolder> {
    let Ok(entries) = std::fs::read_dir(root.join("sys/class/hwmon")) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let name = std::fs::read_to_string(dir.join("name"))
                .map(|s| crate::util::fmt::clean(s.trim()))
                .unwrap_or_else(|_| "hwmon".into());
            let pci = std::fs::canonicalize(dir.join("device"))
                .ok()
                .and_then(|d| d.file_name()?.to_str().and_then(normalise_bus_id));
            let mut files: Vec<(String, Result<u64, String>)> = std::fs::read_dir(&dir)
                .map(|d| {
                    d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                        .filter(|n| sensor_rank(n).is_some())
                        .map(|n| {
                            let v = std::fs::read_to_string(dir.join(&n))
                                .map_err(|e| e.to_string())
                                .and_then(|t| {
                                    t.trim().parse::<u64>().map_err(|_| {
                                        format!(
                                            "{:?} is not a whole number",
                                            crate::util::fmt::clean(t.trim())
                                        )
                                    })
                                });
                            (n, v)
                        })
                        .collect()
                })
                .unwrap_or_default();
            files.sort_by(|a, b| a.0.cmp(&b.0));
            HwmonFolder {
                path: dir,
                name,
                pci,
                files,
            }
        })
        .collect()
}

/// A Linux hwmon file: `power*_average` / `power*_input` in µW, or `energy*_input` in µJ.
pub struct Hwmon {
    path: PathBuf,
    driver: String,
    energy: bool,
}

impl Hwmon {
    /// The first readable sensor of the device's hwmon folders, in the order of
    /// [`sensor_rank`]. `Err(None)`: none there; `Err(Some(w))`: one there, but
    /// unreadable.
    pub fn find(root: &Path, bus: &str) -> Result<Hwmon, Option<String>> {
        let base = root.join("sys/bus/pci/devices").join(bus).join("hwmon");
        let Ok(dirs) = std::fs::read_dir(&base) else {
            return Err(None);
        };
        let mut dirs: Vec<PathBuf> = dirs.filter_map(|e| e.ok().map(|e| e.path())).collect();
        dirs.sort();
        let mut refused = None;
        for dir in dirs {
            let driver = std::fs::read_to_string(dir.join("name"))
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "hwmon".into());
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .map(|d| {
                    d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            let mut candidates: Vec<(u32, String)> = names
                .into_iter()
                .filter_map(|n| sensor_rank(&n).map(|r| (r, n)))
                .collect();
            candidates.sort();
            for (_, name) in candidates {
                let path = dir.join(&name);
                match std::fs::read_to_string(&path) {
                    Ok(_) => {
                        return Ok(Hwmon {
                            path,
                            driver: driver.clone(),
                            energy: name.starts_with("energy"),
                        });
                    }
                    Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                        refused.get_or_insert(format!(
                            "permission refused reading {} ({e}); run as a user who may \
                             read it (Intel's energy files are root's), or give \
                             --power-command",
                            path.display()
                        ));
                    }
                    Err(_) => {}
                }
            }
        }
        Err(refused)
    }
}

impl PowerSource for Hwmon {
    fn info(&self) -> SourceInfo {
        let file = self
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?");
        SourceInfo {
            kind: "hwmon",
            method: format!(
                "hwmon {} {file} ({}) at {}",
                self.driver,
                if self.energy { "µJ counter" } else { "µW" },
                self.path.display()
            ),
            window: None,
        }
    }

    fn read(&mut self) -> Result<Vec<Reading>, Fault> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                return Err(Fault::Gone(format!(
                    "permission refused reading {} ({e})",
                    self.path.display()
                )));
            }
            Err(e) => {
                return Err(Fault::Gone(format!(
                    "the sensor {} disappeared ({e})",
                    self.path.display()
                )));
            }
        };
        let Ok(v) = text.trim().parse::<u64>() else {
            return Err(Fault::Garbage(format!(
                "{} read {:?}, not a whole number",
                self.path.display(),
                crate::util::fmt::clean(text.trim())
            )));
        };
        Ok(vec![if self.energy {
            Reading::MicroJoules(v)
        } else {
            Reading::Watts(v as f64 / 1e6)
        }])
    }
}

/// A process that prints watts, one line per sample: `nvidia-smi` in its loop mode, or a
/// user's command (run again whenever it exits, for commands that print one reading).
pub struct Stream {
    kind: &'static str,
    method: String,
    window: Option<Duration>,
    program: String,
    args: Vec<String>,
    /// Run again when it exits.
    again: bool,
    child: Option<Child>,
    lines: Option<Receiver<String>>,
    last: Instant,
    /// A line that was not watts, reported at the next read.
    garbage: Option<String>,
}

/// Watts from a line such as `250`, `245.31`, `245.31 W`.
pub fn parse_watts(line: &str) -> Option<f64> {
    let t = line.trim();
    let t = t.strip_suffix('W').unwrap_or(t).trim_end();
    t.parse::<f64>().ok()
}

impl Stream {
    pub fn command(cmd: &str) -> Stream {
        Stream {
            kind: "command",
            method: format!(
                "--power-command {} (watts, one line per sample)",
                crate::util::fmt::clean(cmd)
            ),
            window: None,
            program: "sh".into(),
            args: vec!["-c".into(), cmd.into()],
            again: true,
            child: None,
            lines: None,
            last: Instant::now(),
            garbage: None,
        }
    }

    /// `nvidia-smi` for the GPU at `bus`, sampling `power.draw.instant` where the driver
    /// has it, else `power.draw` (a one-second average). `Err(None)` without nvidia-smi.
    pub fn nvidia_smi(bus: &str) -> Result<Stream, Option<String>> {
        let probe = run_with_timeout(
            "nvidia-smi",
            &[
                "--query-gpu=power.draw.instant,power.draw",
                "--format=csv,noheader,nounits",
                "-i",
                bus,
            ],
            HANG_TIMEOUT,
        );
        let out = match probe {
            // Not on PATH (or only behind folders this user may not search).
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::PermissionDenied) => {
                return Err(None);
            }
            Err(e) => return Err(Some(format!("nvidia-smi could not be run: {e}"))),
            Ok(None) => {
                return Err(Some(format!(
                    "nvidia-smi did not answer within {} s: killed",
                    HANG_TIMEOUT.as_secs()
                )));
            }
            Ok(Some(out)) => out,
        };
        let first = out.lines().next().unwrap_or("");
        let fields: Vec<&str> = first.split(',').map(str::trim).collect();
        let instant = fields.first().and_then(|f| parse_watts(f)).is_some();
        let draw = fields.get(1).and_then(|f| parse_watts(f)).is_some();
        let (field, window) = match (instant, draw) {
            (true, _) => ("power.draw.instant", None),
            (false, true) => ("power.draw", Some(Duration::from_secs(1))),
            _ => {
                // Older drivers refuse the whole query for the unknown field.
                let plain = run_with_timeout(
                    "nvidia-smi",
                    &[
                        "--query-gpu=power.draw",
                        "--format=csv,noheader,nounits",
                        "-i",
                        bus,
                    ],
                    HANG_TIMEOUT,
                );
                match plain {
                    Ok(Some(o)) if o.lines().next().and_then(parse_watts).is_some() => {
                        ("power.draw", Some(Duration::from_secs(1)))
                    }
                    _ => {
                        return Err(Some(format!(
                            "nvidia-smi gave no power reading for {bus}: {:?}",
                            crate::util::fmt::clean(first)
                        )));
                    }
                }
            }
        };
        Ok(Stream {
            kind: "nvidia-smi",
            method: format!(
                "nvidia-smi {field} of the GPU at {bus}, every {NVIDIA_SMI_MS} ms{}",
                match window {
                    Some(_) => " (the driver's one-second average)",
                    None => " (instantaneous)",
                }
            ),
            window,
            program: "nvidia-smi".into(),
            args: vec![
                format!("--query-gpu={field}"),
                "--format=csv,noheader,nounits".into(),
                "-lms".into(),
                NVIDIA_SMI_MS.to_string(),
                "-i".into(),
                bus.into(),
            ],
            again: false,
            child: None,
            lines: None,
            last: Instant::now(),
            garbage: None,
        })
    }

    fn spawn(&mut self) -> Result<(), Fault> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Fault::Gone(format!("{} could not be started ({e})", self.kind)))?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        self.child = Some(child);
        self.lines = Some(rx);
        Ok(())
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.lines = None;
    }
}

impl PowerSource for Stream {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            kind: self.kind,
            method: self.method.clone(),
            window: self.window,
        }
    }

    fn read(&mut self) -> Result<Vec<Reading>, Fault> {
        if let Some(g) = self.garbage.take() {
            return Err(Fault::Garbage(format!(
                "{} printed {:?}, not watts",
                self.kind,
                crate::util::fmt::clean(&g)
            )));
        }
        if self.child.is_none() {
            self.spawn()?;
        }
        let mut out = Vec::new();
        let mut garbage = None;
        let mut closed = false;
        if let Some(rx) = &self.lines {
            loop {
                match rx.try_recv() {
                    Ok(line) => {
                        self.last = Instant::now();
                        match parse_watts(&line) {
                            Some(w) => out.push(Reading::Watts(w)),
                            None if line.trim().is_empty() => {}
                            None => garbage = Some(line),
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        closed = true;
                        break;
                    }
                }
            }
        }
        if closed {
            // Its output is closed: it exited (or closed its stdout). A user's command
            // runs again at the next poll; nvidia-smi's loop should not end.
            self.kill();
            if !self.again {
                return Err(Fault::Gone(format!("{} exited", self.kind)));
            }
        }
        if self.last.elapsed() > HANG_TIMEOUT {
            self.kill();
            return Err(Fault::Gone(format!(
                "{} printed nothing for {} s: {}",
                self.kind,
                HANG_TIMEOUT.as_secs(),
                if closed { "given up" } else { "killed" }
            )));
        }
        self.garbage = garbage;
        Ok(out)
    }

    fn stop(&mut self) {
        self.kill();
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs a program and returns its output, or `None` when it ran past `timeout` (killed).
fn run_with_timeout(
    program: &str,
    args: &[&str],
    timeout: Duration,
) -> std::io::Result<Option<String>> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let start = Instant::now();
    loop {
        if child.try_wait()?.is_some() {
            let mut s = String::new();
            if let Some(mut o) = child.stdout.take() {
                use std::io::Read;
                let _ = o.read_to_string(&mut s);
            }
            return Ok(Some(s));
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
