//! `tdr serve`: the ingest daemon. File followers, syslog listeners and IPFIX collectors parse
//! what they read
//! and send it to the one ingest pipeline ([`crate::ingest::pipeline`]), which commits events
//! and checkpoints together. `/metrics` and `/health` are served over HTTP; systemd is told
//! READY and fed the watchdog; SIGTERM or SIGINT stops reading, commits what was read, and
//! exits 0.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::api::listen::{self, Limits, Listener};
use crate::audit::{AuditLog, NewEntry};
use crate::clock::Clock;
use crate::config::{Config, Stream};
use crate::ingest::pipeline::{self, ToCore};
use crate::ingest::sources::{follow as files, ipfix, radius, syslog};
pub use crate::ingest::Shared;
use crate::parse::Format;
use crate::telemetry::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Start(String),
    #[error("ingest failed: {0}")]
    Ingest(String),
}

/// The file sources of the spool folder: its top level in the `events` format, and a
/// `<format>/` subfolder per format (those that need a time zone only when
/// `ingest.local_timezone` gives one).
fn spool_specs(cfg: &Config) -> Vec<files::Spec> {
    let Some(dir) = &cfg.serve.spool else {
        return Vec::new();
    };
    let tz = cfg.local_timezone.as_deref().and_then(|z| z.parse().ok());
    let mut out = vec![files::Spec {
        source: Arc::from("spool"),
        pattern: format!("{}/*", glob::Pattern::escape(&dir.to_string_lossy())),
        stream: Stream::new(Format::Events),
        follow_links: false,
    }];
    for f in Format::ALL {
        if f == Format::Events || f.needs_tz() && tz.is_none() {
            continue;
        }
        let mut stream = Stream::new(f);
        stream.tz = tz;
        out.push(files::Spec {
            source: Arc::from(format!("spool-{}", f.name()).as_str()),
            pattern: format!(
                "{}/{}/*",
                glob::Pattern::escape(&dir.to_string_lossy()),
                f.name()
            ),
            stream,
            follow_links: false,
        });
    }
    out
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(cfg: Config, clock: Arc<dyn Clock>) -> Result<(), ServeError> {
    let start = |e: String| ServeError::Start(e);
    // Only the service user reads the data directory: the store, the identity register, the
    // keys and the audit log are reached through the daemon alone.
    crate::fsmode::create_private_dir(&cfg.data_dir)
        .map_err(|e| start(format!("cannot create {}: {e}", cfg.data_dir.display())))?;
    if let Some(spool) = &cfg.serve.spool {
        for sub in std::iter::once(spool.clone()).chain(
            Format::ALL
                .iter()
                .filter(|f| **f != Format::Events)
                .map(|f| spool.join(f.name())),
        ) {
            crate::fsmode::create_private_dir(&sub)
                .map_err(|e| start(format!("cannot create the spool {}: {e}", sub.display())))?;
        }
    }
    let mut store = crate::ingest::policy::open_store(&cfg, clock.clone())
        .map_err(|(code, e)| start(format!("[{code}] store: {e}")))?;
    store
        .open_engine()
        .map_err(|e| start(format!("[{}] store: {e}", e.code())))?;
    let engine = store.take_engine();
    // The audit log is created if new, then released: the daemon opens it only to audit a
    // partition drop, so `tdr lookup` can write to it meanwhile. One that cannot be opened or
    // does not verify does not stop ingest (that would lose records): the daemon runs, says
    // it is not ready, and drops nothing.
    let opened = AuditLog::open(&cfg.data_dir, clock.clone()).map(drop);
    let shared = Arc::new(Shared {
        store: Arc::new(store),
        metrics: Metrics::new(),
        clock: clock.clone(),
        data_dir: cfg.data_dir.clone(),
        stop: AtomicBool::new(false),
        problem: Mutex::new(None),
    });
    if let Err(e) = opened {
        tracing::error!(error = %e, "the audit log cannot be opened: not ready");
        shared.fail(&format!("audit log cannot be opened: {e}"));
    }
    match crate::audit::verify(&cfg.data_dir) {
        Ok(r) => {
            shared
                .metrics
                .audit_entries
                .store(r.entries, Ordering::Relaxed);
            tracing::info!(entries = r.entries, "audit log verified");
        }
        Err(e) => {
            tracing::error!(error = %e, "the audit log does not verify: not ready");
            shared.fail(&format!("audit log verification failed: {e}"));
        }
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tdr-net")
        .enable_all()
        .build()
        .map_err(|e| start(format!("cannot start the runtime: {e}")))?;
    let (tx, rx) = mpsc::channel::<ToCore>(16);
    let (stop_tx, stop_rx) = watch::channel(false);

    // Bind everything first: a port in use is a start failure, reported before READY.
    let http = rt
        .block_on(tokio::net::TcpListener::bind(cfg.serve.http_listen))
        .map_err(|e| start(format!("http {}: {e}", cfg.serve.http_listen)))?;
    let socket_path = cfg.socket_path();
    let socket = {
        let _rt = rt.enter();
        bind_socket(&socket_path, cfg.serve.socket_group.as_deref()).map_err(start)?
    };
    let mut bound = Vec::new();
    for src in &cfg.syslog {
        let b = rt.block_on(syslog::bind(src)).map_err(start)?;
        if let syslog::Bound::Udp(s) = &b {
            shared.metrics.watch_udp(&src.name, s.local_addr());
        }
        bound.push((src.clone(), b));
    }
    let mut ipfix_bound = Vec::new();
    for src in &cfg.ipfix {
        let s = rt.block_on(ipfix::bind(src)).map_err(start)?;
        shared.metrics.watch_udp(&src.name, s.local_addr());
        ipfix_bound.push((src.clone(), s));
    }
    let mut radius_bound = Vec::new();
    for src in &cfg.radius {
        let b = rt.block_on(radius::bind(src)).map_err(start)?;
        if src.tls.is_none() {
            shared.metrics.watch_udp(&src.name, b.local_addr());
        }
        radius_bound.push((src.clone(), b));
    }

    let core_shared = shared.clone();
    let core_cfg = cfg.clone();
    let applier = std::thread::Builder::new()
        .name("tdr-applier".into())
        .spawn(move || {
            let (sh, c) = (core_shared.clone(), core_cfg.clone());
            let failed = core_shared.clone();
            let opts = pipeline::Options {
                flush: Some(Duration::from_millis(core_cfg.serve.flush_interval_ms)),
                housekeeping: Some((
                    Duration::from_secs(core_cfg.serve.retention_interval_secs),
                    Box::new(move || expire(&sh, &c)),
                )),
                on_failure: Some(Box::new(move |e: &str| failed.fail(e))),
            };
            let s = &core_shared;
            pipeline::run(
                &s.store,
                &core_cfg,
                s.clock.as_ref(),
                Some(&s.metrics),
                opts,
                engine,
                rx,
            )
            .map(drop)
            .map_err(|e| e.to_string())
        })
        .map_err(|e| start(format!("cannot start the applier: {e}")))?;

    // File followers: one thread per configured source, one for the spool.
    let poll = Duration::from_millis(cfg.serve.poll_interval_ms);
    let mut groups: Vec<Vec<files::Spec>> = cfg
        .files
        .iter()
        .map(|f| {
            vec![files::Spec {
                source: Arc::from(f.name.as_str()),
                pattern: f.path.clone(),
                stream: f.stream.clone(),
                follow_links: true,
            }]
        })
        .collect();
    let spool = spool_specs(&cfg);
    if !spool.is_empty() {
        groups.push(spool);
    }
    let mut followers = Vec::new();
    let mut watchers = Vec::new();
    for specs in groups {
        let (wake_tx, wake_rx) = std::sync::mpsc::sync_channel::<()>(1);
        match watcher(&specs, wake_tx) {
            Ok(w) => watchers.push(w),
            Err(e) => tracing::warn!(error = %e, "no change notifications: polling files only"),
        }
        let f = files::Follower::new(specs, shared.clone(), tx.clone(), poll);
        followers.push(
            std::thread::Builder::new()
                .name("tdr-files".into())
                .spawn(move || f.run(wake_rx))
                .map_err(|e| start(format!("cannot start a file follower: {e}")))?,
        );
    }

    let result = rt.block_on(async {
        let mut tasks = Vec::new();
        for (src, b) in bound {
            tracing::info!(listener = %src.name, transport = src.transport.name(), listen = %src.listen, "syslog listening");
            tasks.push(tokio::spawn(syslog::run(
                src,
                b,
                shared.clone(),
                tx.clone(),
                stop_rx.clone(),
            )));
        }
        for (src, sock) in ipfix_bound {
            tracing::info!(listener = %src.name, listen = %src.listen, "IPFIX collector listening");
            tasks.push(tokio::spawn(ipfix::run(
                src,
                sock,
                shared.clone(),
                tx.clone(),
                stop_rx.clone(),
            )));
        }
        for (src, b) in radius_bound {
            tracing::info!(listener = %src.name, listen = %src.listen, clients = src.clients.len(), "RADIUS accounting listening");
            tasks.push(tokio::spawn(radius::run(
                src,
                b,
                shared.clone(),
                tx.clone(),
                stop_rx.clone(),
            )));
        }
        let auditor = crate::audit::Auditor::start(&cfg.data_dir, clock.clone())
            .unwrap_or_else(|e| {
                tracing::error!(code = e.code(), "audit log unusable: every API data request is refused");
                crate::audit::Auditor::failed()
            });
        let service = crate::legal::Service::new(
            Arc::new(cfg.clone()),
            shared.store.clone(),
            Arc::new(auditor),
            clock.clone(),
        );
        let service = Arc::new(service);
        // Refusals counted past a peer's limit are written as one summary entry each
        // window; the last ones at shutdown.
        let flusher = {
            let service = service.clone();
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                let mut iv = tokio::time::interval(Duration::from_secs(30));
                loop {
                    tokio::select! {
                        _ = stop.changed() => break,
                        _ = iv.tick() => {
                            let s = service.clone();
                            let _ = tokio::task::spawn_blocking(move || s.flush_due_refusals()).await;
                        }
                    }
                }
                let _ = tokio::task::spawn_blocking(move || service.flush_refusals()).await;
            })
        };
        let users = Arc::new(crate::api::UsersCache::new(cfg.data_dir.clone()));
        let desk = crate::desk::DeskState::new(
            service.clone(),
            users.clone(),
            cfg.serve.desk_idle_timeout_secs,
        );
        let api = crate::api::ApiState {
            service: service.clone(),
            users,
        };
        let http = match &cfg.serve.tls {
            Some((cert, key)) => {
                let tls = syslog::tls_config(cert, key).map_err(ServeError::Start)?;
                Listener::Tls(crate::api::tls::TlsListener::new(http, tls).map_err(|e| ServeError::Start(format!("https: {e}")))?)
            }
            None => Listener::Plain(http),
        };
        let routes = app(shared.clone(), api, desk);
        let limits = Limits::of(&cfg.serve);
        let http_tasks = [
            tokio::spawn(listen::serve(http, routes.clone(), limits, stop_rx.clone())),
            tokio::spawn(listen::serve(Listener::Unix(socket), routes, limits, stop_rx.clone())),
        ];
        let tick_tx = tx.clone();
        let flush = Duration::from_millis(cfg.serve.flush_interval_ms);
        let mut tick_stop = stop_rx.clone();
        let ticker = tokio::spawn(async move {
            let mut iv = tokio::time::interval(flush);
            loop {
                tokio::select! {
                    _ = tick_stop.changed() => break,
                    _ = iv.tick() => {
                        if tick_tx.send(ToCore::Tick).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let watchdog = tokio::spawn(watchdog(shared.clone(), stop_rx.clone()));
        drop(tx);
        tracing::info!(http = %cfg.serve.http_listen, files = cfg.files.len(), syslog = cfg.syslog.len(), ipfix = cfg.ipfix.len(), "tdr serve ready");
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);

        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| ServeError::Start(format!("cannot handle SIGTERM: {e}")))?;
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: stopping"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
        }
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
        shared.stop.store(true, Ordering::Relaxed);
        let _ = stop_tx.send(true);
        for t in tasks {
            let _ = t.await;
        }
        let _ = ticker.await;
        let _ = watchdog.await;
        let _ = flusher.await;
        for t in http_tasks {
            t.abort();
        }
        Ok::<(), ServeError>(())
    });
    drop(watchers);
    for f in followers {
        let _ = f.join();
    }
    // Every sender is gone now: the applier commits what it holds and returns.
    let applied = applier
        .join()
        .unwrap_or_else(|_| Err("the applier thread panicked".into()));
    rt.shutdown_timeout(Duration::from_secs(1));
    result?;
    applied.map_err(ServeError::Ingest)?;
    let _ = std::fs::remove_file(&socket_path);
    tracing::info!("stopped: everything read is committed");
    Ok(())
}

/// A watcher on the folders of the sources' globs: each change wakes the follower.
fn watcher(
    specs: &[files::Spec],
    wake: std::sync::mpsc::SyncSender<()>,
) -> notify::Result<notify::RecommendedWatcher> {
    use notify::Watcher;
    let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        // Opening and reading files (the follower's own reads among them) is no change.
        if !matches!(res, Ok(ref e) if matches!(e.kind, notify::EventKind::Access(_))) {
            let _ = wake.try_send(());
        }
    })?;
    for s in specs {
        let root = files::watch_root(&s.pattern);
        let root = if root.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            root
        };
        w.watch(&root, notify::RecursiveMode::Recursive)?;
    }
    Ok(w)
}

/// Feeds the systemd watchdog (when `WATCHDOG_USEC` asks for it) while the daemon is healthy.
async fn watchdog(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut usec = 0u64;
    if !sd_notify::watchdog_enabled(false, &mut usec) || usec == 0 {
        return;
    }
    let mut iv = tokio::time::interval(Duration::from_micros(usec / 2));
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = iv.tick() => {
                if shared.ready() {
                    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
                }
            }
        }
    }
}

/// The routes of the daemon's HTTP listeners: `/metrics`, `/health` and the API. The Unix
/// socket serves the same router (the CLI's requests are API requests too).
fn app(
    shared: Arc<Shared>,
    api: crate::api::ApiState,
    desk: crate::desk::DeskState,
) -> axum::Router {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;
    let metrics_shared = shared.clone();
    let service = api.service.clone();
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let s = metrics_shared.clone();
                let svc = service.clone();
                async move {
                    let text = tokio::task::spawn_blocking(move || {
                        // Unreadable cases leave the last counts in place; the case API
                        // names the problem.
                        if let Ok(c) = svc.clock_counts() {
                            s.metrics.set_cases(c.cases_overdue, c.cases_due_soon);
                            s.metrics.set_notices(c.notices.due, c.notices.late);
                        }
                        s.metrics.render(&s.store, s.ready(), s.clock.now())
                    })
                    .await
                    .unwrap_or_default();
                    (
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        text,
                    )
                }
            }),
        )
        .route(
            "/health",
            get(move || {
                let s = shared.clone();
                async move {
                    let problem = s.problem.lock().expect("problem lock").clone();
                    let body = serde_json::json!({
                        "status": if problem.is_none() { "ready" } else { "not_ready" },
                        "store": "open",
                        "audit": if problem.as_deref().is_some_and(|p| p.starts_with("audit")) {
                            "verification_failed"
                        } else {
                            "verified"
                        },
                        "problem": problem,
                    });
                    let code = if problem.is_none() {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    };
                    (
                        code,
                        [(header::CONTENT_TYPE, "application/json")],
                        body.to_string(),
                    )
                        .into_response()
                }
            }),
        );
    app.merge(crate::desk::router(desk))
        .merge(crate::api::router(api))
}

/// Binds the CLI's Unix socket at `path`, mode 0660 (who may connect is the directory's
/// business: `<data_dir>/run`, 0700, by default; `/run/tdr`, the service's group, under
/// systemd). A socket file left by a daemon that died is replaced; one a running daemon
/// answers on is a start failure.
fn bind_socket(
    path: &std::path::Path,
    group: Option<&str>,
) -> Result<tokio::net::UnixListener, String> {
    use std::os::unix::fs::PermissionsExt;
    let what = |e: std::io::Error| format!("socket {}: {e}", path.display());
    if let Some(dir) = path.parent() {
        if !dir.exists() {
            crate::fsmode::create_private_dir(dir).map_err(what)?;
        }
    }
    if std::fs::symlink_metadata(path).is_ok() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(format!(
                "socket {}: another tdr serve answers there",
                path.display()
            ));
        }
        std::fs::remove_file(path).map_err(what)?;
    }
    let l = tokio::net::UnixListener::bind(path).map_err(what)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(what)?;
    if let Some(g) = group {
        let gid = group_id(g).ok_or_else(|| format!("serve.socket_group: no group {g:?}"))?;
        std::os::unix::fs::chown(path, None, Some(gid)).map_err(what)?;
    }
    Ok(l)
}

/// The id of the group named `name`.
fn group_id(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: getgrnam reads the group database; the pointer it returns is read at once,
    // before any other call could reuse its static buffer (the daemon binds before it starts
    // other threads that look groups up: none do).
    let g = unsafe { libc::getgrnam(c.as_ptr()) };
    if g.is_null() {
        None
    } else {
        // SAFETY: non-null, points to a valid `group` record.
        Some(unsafe { (*g).gr_gid })
    }
}

/// The daemon's retention, run on the pipeline's writer thread (partition drops are writes
/// too): drops the partitions past retention, each drop audited. The audit log is opened only
/// when there is something to drop, so `tdr lookup` (which writes to it) is not locked out
/// while the daemon runs; if it is busy at that moment, the drop waits for the next run.
fn expire(shared: &Shared, cfg: &Config) {
    let m = &shared.metrics;
    let now = shared.clock.now();
    // Quarantined lines and spool files forget on time too; what went is audited.
    let floor = shared.store.retention().floor(now);
    match crate::ingest::quarantine::expire(&cfg.data_dir, cfg.serve.spool.as_deref(), floor) {
        Ok(x) if x != Default::default() => {
            tracing::info!(
                quarantine_records = x.quarantine_records,
                spool_files = x.spool_files,
                "retention: dropped expired quarantine records and spool files"
            );
            let entry = NewEntry {
                actor: "tdr-serve".into(),
                role: "system".into(),
                action: "quarantine_expire".into(),
                legal_basis: Some("retention".into()),
                query: serde_json::json!({
                    "retention_floor": crate::model::fmt_time(floor),
                    "quarantine_records": x.quarantine_records,
                    "spool_files": x.spool_files,
                }),
                outcome: "dropped".into(),
                result_count: x.quarantine_records + x.spool_files,
                ..NewEntry::default()
            };
            let written = AuditLog::open(&cfg.data_dir, shared.clock.clone())
                .and_then(|mut a| a.append(entry).and_then(|_| a.checkpoint()));
            if let Err(e) = written {
                tracing::error!(
                    code = e.code(),
                    "the audit entry of a quarantine expiry could not be written"
                );
            }
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "retention of the quarantine and spool failed"),
    }
    // Erasures (GDPR art. 17): what a batch was writing while an erasure ran is swept again,
    // and tombstones nothing can come back under any more go.
    match shared.store.sweep_erasures(floor) {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            copies = n,
            "erasure sweep removed records written meanwhile"
        ),
        Err(e) => tracing::error!(code = e.code(), error = %e, "erasure sweep failed"),
    }
    // What preservation orders hold, read once for both steps: unreadable, nothing is dropped.
    let holds = match crate::legal::holds(&cfg.data_dir, now) {
        Ok(h) => h,
        Err(e) => {
            let e = crate::store::retention::ExpireError::Holds(e.to_string());
            tracing::error!(code = e.code(), error = %e, "retention failed");
            return;
        }
    };
    let due = match crate::store::retention::expired_days(&shared.store, cfg, now, &holds) {
        Ok(days) => !days.is_empty(),
        Err(e) => {
            tracing::error!(code = e.code(), error = %e, "retention failed");
            return;
        }
    };
    if !due {
        if let Err(e) = shared.store.prune_reboots(cfg.retention.floor(now)) {
            tracing::error!(code = e.code(), error = %e, "retention failed");
        }
        return;
    }
    let mut audit = match AuditLog::open(&cfg.data_dir, shared.clock.clone()) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "retention postponed: the audit log cannot be opened now");
            return;
        }
    };
    match crate::store::retention::expire(&shared.store, &mut audit, cfg, now, "tdr-serve", &holds)
    {
        Ok(dropped) => {
            for p in &dropped {
                tracing::info!(
                    partition = %p.name,
                    records = p.records,
                    "retention: dropped an expired partition"
                );
            }
            m.expired_partitions.inc_by(dropped.len() as u64);
            if let Err(e) = audit.checkpoint() {
                tracing::error!(error = %e, "audit checkpoint failed");
            }
        }
        Err(e) => tracing::error!(code = e.code(), error = %e, "retention failed"),
    }
    m.audit_entries.store(audit.head().0, Ordering::Relaxed);
}
