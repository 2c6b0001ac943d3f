//! Shared state against a real Redis (`redis-server` from Debian, started here on a free
//! loopback port): budget charges from several replicas, the local buffer across an outage,
//! the lease, and workflow claims.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use seedwatch_collector::budgets::{Mark, SharedCharge, SharedOutcome, SpendKey, SpendStore};
use seedwatch_collector::derived_metrics::DerivedRegistry;
use seedwatch_collector::shared::{Lease, RedisConfig, RedisLink, RedisSpendStore, WorkflowDelta, workflows};

struct Redis {
    port: u16,
    child: Option<Child>,
    dir: PathBuf,
}

impl Redis {
    fn start() -> Redis {
        let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let dir = std::env::temp_dir().join(format!("seedwatch-redis-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let mut redis = Redis { port, child: None, dir };
        redis.spawn();
        redis
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (Debian package redis-server; tests/run.sh installs it)");
        self.child = Some(child);
        wait_for_port(self.port);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn config(&self, prefix: &str) -> RedisConfig {
        RedisConfig {
            url: format!("redis://127.0.0.1:{}/0", self.port),
            key_prefix: prefix.to_owned(),
            command_timeout: Duration::from_millis(500),
            connect_timeout: Duration::from_millis(500),
            ..Default::default()
        }
    }
}

/// Waits (at most 10 s) until redis-server listens on `port`.
fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn link(redis: &Redis, prefix: &str) -> Arc<RedisLink> {
    RedisLink::new(redis.config(prefix), &DerivedRegistry::new(), None).expect("link")
}

fn store(link: &Arc<RedisLink>, dir: &std::path::Path, name: &str) -> RedisSpendStore {
    RedisSpendStore::open(link.clone(), &dir.join(name), 86_400, &DerivedRegistry::new()).expect("store")
}

fn key() -> Vec<SpendKey> {
    vec![SpendKey { budget: "global".into(), start: 1_795_564_800, keep_secs: 172_800 }]
}

/// A span that ended now (marks are kept for the replay window after their bucket).
fn charge(i: u64, cost: f64) -> SharedCharge {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    SharedCharge {
        mark: Mark { bucket: seedwatch_collector::budgets::bucket_of(now), fingerprint: i },
        cost,
        targets: vec![0],
    }
}

fn applied(outcome: SharedOutcome) -> f64 {
    match outcome {
        SharedOutcome::Applied(totals) => totals[0],
        SharedOutcome::Buffered => panic!("expected the batch to reach redis"),
    }
}

#[test]
fn replicas_charge_each_span_once_and_the_sum_is_exact() {
    let redis = Redis::start();
    let dir = redis.dir.clone();
    let (a, b) = (link(&redis, "t1:"), link(&redis, "t1:"));
    let (sa, sb) = (store(&a, &dir, "a.redb"), store(&b, &dir, "b.redb"));
    let prices: Vec<f64> = (0..200).map(|i| 0.000_001_25 * (i % 7 + 1) as f64 + 0.013).collect();
    // Replica A gets the even spans, B the odd ones, and both get spans 0..20 (a client retry
    // that the load balancer sent elsewhere).
    let of = |pick: &dyn Fn(usize) -> bool| -> Vec<SharedCharge> {
        prices.iter().enumerate().filter(|(i, _)| pick(*i)).map(|(i, p)| charge(i as u64, *p)).collect()
    };
    applied(sa.charge_shared(&of(&|i| i % 2 == 0 || i < 20), &key()).expect("a"));
    let total = applied(sb.charge_shared(&of(&|i| i % 2 == 1 || i < 20), &key()).expect("b"));
    let expected: f64 = prices.iter().sum();
    assert!((total - expected).abs() < 1e-9, "{total} vs {expected}");
    // The same batch again (its answer lost, say): nothing more.
    let again = applied(sa.charge_shared(&of(&|i| i % 2 == 0), &key()).expect("again"));
    assert!((again - expected).abs() < 1e-9);
    // Another key prefix is another fleet.
    let other = store(&link(&redis, "t2:"), &dir, "c.redb");
    assert_eq!(applied(other.charge_shared(&[], &key()).expect("other")), 0.0);
}

#[test]
fn charges_wait_in_the_local_buffer_while_redis_is_down_and_are_charged_once_after() {
    let mut redis = Redis::start();
    let dir = redis.dir.clone();
    let l = link(&redis, "t3:");
    let s = store(&l, &dir, "buffer.redb");
    applied(s.charge_shared(&[charge(1, 0.5)], &key()).expect("up"));
    redis.stop();
    assert_eq!(s.charge_shared(&[charge(2, 0.25), charge(1, 0.5)], &key()).expect("down"), SharedOutcome::Buffered);
    assert_eq!(s.charge_shared(&[charge(3, 0.125)], &key()).expect("down"), SharedOutcome::Buffered);
    assert!(!l.is_up());
    // A restart of the replica during the outage keeps the buffer.
    drop(s);
    let s = store(&l, &dir, "buffer.redb");
    redis.spawn();
    // A link whose connection attempt failed waits half a second before the next one.
    std::thread::sleep(Duration::from_millis(600));
    // Redis restarted empty (no persistence here): span 1's first charge is gone with it,
    // so it is charged again from the buffer; 2 and 3 once each.
    let total = applied(s.charge_shared(&[], &key()).expect("back"));
    assert!((total - 0.875).abs() < 1e-12, "{total}");
    assert!(l.is_up());
    let total = applied(s.charge_shared(&[], &key()).expect("again"));
    assert!((total - 0.875).abs() < 1e-12, "the buffer is sent once: {total}");
}

#[test]
fn one_replica_holds_the_lease_until_it_gives_it_up() {
    let redis = Redis::start();
    let mut config = redis.config("t4:");
    config.lease_ttl = Duration::from_millis(1500);
    let registry = DerivedRegistry::new();
    let a = Lease::new(RedisLink::new(config.clone(), &registry, None).expect("a"), &registry);
    let b = Lease::new(RedisLink::new(config, &registry, None).expect("b"), &registry);
    assert!(a.renew());
    assert!(!b.renew());
    assert!(a.renew(), "the holder renews");
    a.release();
    assert!(!a.held());
    assert!(b.renew(), "released: another replica takes it at once");
    assert!(!a.renew());
    // The holder dies (stops renewing): another takes over once the lease runs out.
    std::thread::sleep(Duration::from_millis(1700));
    assert!(a.renew());
    assert!(!b.held());
}

#[test]
fn a_workflow_is_claimed_once_with_every_replicas_contributions() {
    let redis = Redis::start();
    let (a, b) = (link(&redis, "t5:"), link(&redis, "t5:"));
    let trace = "0af7651916cd43dd8448eb211c80319c".to_owned();
    let delta = |cost: &str, root: Option<&str>| WorkflowDelta {
        trace: trace.clone(),
        counts: vec![("cost", cost.to_owned()), ("lc", "1".to_owned())],
        root: root.map(str::to_owned),
        top_level: root.is_some(),
    };
    workflows::push(&a, &[delta("125000000000", None)], 60_000).expect("a");
    workflows::push(&b, &[delta("250000000000", Some("{\"name\":\"gapfill\"}"))], 60_000).expect("b");
    // Not idle yet.
    assert!(workflows::claim(&a, 400, 60_000, 10).expect("claim").is_empty());
    std::thread::sleep(Duration::from_millis(500));
    let first = workflows::claim(&a, 400, 60_000, 10).expect("claim");
    let second = workflows::claim(&b, 400, 60_000, 10).expect("claim");
    assert_eq!((first.len(), second.len()), (1, 0), "claimed once");
    let fields = &first[0].1;
    let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
    assert_eq!((get("cost"), get("lc"), get("top")), (Some("375000000000"), Some("2"), Some("1")));
}

/// A CA and a server certificate for 127.0.0.1, made with the openssl command.
fn certificates(dir: &std::path::Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out =
            Command::new("openssl").args(args).current_dir(dir).output().expect("openssl (Debian package openssl)");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=test-ca",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    run(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n").expect("ext");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-set_serial",
        "2",
        "-days",
        "1",
        "-out",
        "server.pem",
        "-extfile",
        "server.ext",
    ]);
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
}

#[test]
fn a_tls_redis_with_a_password_is_reached_with_the_configured_ca_and_refuses_a_wrong_password() {
    let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let dir = std::env::temp_dir().join(format!("seedwatch-redis-tls-{port}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (ca, cert, key) = certificates(&dir);
    let mut child = Command::new("redis-server")
        .args([
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(["--tls-cert-file", cert.to_str().expect("path"), "--tls-key-file", key.to_str().expect("path")])
        .args(["--tls-ca-cert-file", ca.to_str().expect("path"), "--tls-auth-clients", "no", "--requirepass", "s3cret"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server");
    wait_for_port(port);
    let config = |password: &str| RedisConfig {
        url: format!("rediss://127.0.0.1:{port}/0"),
        password: password.to_owned(),
        tls: seedwatch_collector::shared::RedisTls { ca_file: Some(ca.clone()), ..Default::default() },
        key_prefix: "tls:".into(),
        ..Default::default()
    };
    let registry = DerivedRegistry::new();
    let good = RedisLink::new(config("s3cret"), &registry, None).expect("link");
    let lease = Lease::new(good.clone(), &registry);
    assert!(lease.renew(), "took the lease over TLS");
    assert!(good.is_up());
    let wrong = RedisLink::new(config("nope"), &registry, None).expect("link");
    let err = wrong.call("ping", |c| redis::cmd("PING").query::<String>(c)).expect_err("wrong password");
    assert!(err.to_string().contains("redis ping") && err.to_string().to_lowercase().contains("pass"), "{err}");
    // Without the CA the server's certificate is not trusted.
    let untrusted =
        RedisLink::new(RedisConfig { tls: Default::default(), ..config("s3cret") }, &registry, None).expect("link");
    assert!(untrusted.call("ping", |c| redis::cmd("PING").query::<String>(c)).is_err());
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(dir);
}
